"""Screenshot TensorBoard serving a real run, for docs/training.md.

Starts ``tensorboard --logdir RUN/logs`` on a free local port, waits until it answers, and has
headless Chromium (Debian: ``apt-get install chromium``) save the page as a PNG.

    .venv/bin/python scripts/tensorboard_screenshot.py runs/lenet5-fashion_mnist docs/img/tensorboard.png
"""

from __future__ import annotations

import argparse
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as reply:
                if reply.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"TensorBoard did not answer at {url} within {seconds:.0f} s.")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", type=Path, help="a run directory written by `zoo train` (with logs/)")
    ap.add_argument("out", type=Path, help="the PNG to write")
    ap.add_argument("--dashboard", default="timeseries", help="TensorBoard plugin to show (timeseries, scalars ...)")
    ap.add_argument("--size", default="1400,1000", help="window width,height in pixels")
    ap.add_argument("--wait-ms", type=int, default=20000, help="virtual time Chromium lets the page render")
    args = ap.parse_args(argv)
    logs = args.run / "logs"
    if not logs.is_dir():
        raise SystemExit(f"{args.run} has no logs/ folder: train it with `zoo train` (TensorBoard installed).")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise SystemExit("Chromium not found: `sudo apt-get install chromium`.")
    tensorboard = Path(sys.executable).with_name("tensorboard")
    port = free_port()
    server = subprocess.Popen([str(tensorboard), "--logdir", str(logs), "--port", str(port), "--host", "127.0.0.1"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(f"http://127.0.0.1:{port}/data/logdir", 240)  # TensorBoard imports TensorFlow first
        args.out.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([chromium, "--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                        f"--window-size={args.size}", f"--virtual-time-budget={args.wait_ms}",
                        f"--screenshot={args.out.resolve()}", f"http://127.0.0.1:{port}/#{args.dashboard}"],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=180)
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Downloads offline and interrupted: a few seconds and one clear line, never minutes of retries;
Ctrl-C or SIGTERM stop a download at once and leave none of its partial files."""

from __future__ import annotations

import os
import signal
import socket
import sys
import threading
import time

import pytest
from kit import invoke

from zoo.data import sources, tfds_source
from zoo.errors import DataError


def _online() -> bool:
    return not sources.unreachable_hosts([tfds_source.TFDS_BUCKET], timeout=2)


def test_unreachable_hosts_names_each_host_and_respects_the_timeout(monkeypatch):
    calls = []

    def slow_dns(host, port, *args, **kwargs):
        calls.append(host)
        if host == "hangs.example":
            time.sleep(30)  # a resolver that never answers
        raise socket.gaierror(-2, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", slow_dns)
    start = time.monotonic()
    bad = sources.unreachable_hosts(["https://a.example/x.gz", "https://a.example/y.gz", "http://hangs.example:8080/z"],
                                    timeout=0.5)
    assert time.monotonic() - start < 3
    assert sorted(calls) == ["a.example", "hangs.example"]  # one look-up per host
    assert bad == {"a.example": "no DNS answer: Name or service not known",
                   "hangs.example:8080": "no answer within 0.5 s"}


def test_reachable_host_passes():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    try:
        port = server.getsockname()[1]
        assert sources.unreachable_hosts([f"http://127.0.0.1:{port}/data.zip"], timeout=1) == {}
    finally:
        server.close()


def test_download_urls_come_from_the_builder():
    builder = tfds_source._builder("mnist", "/nonexistent-zoo-dir")
    assert all(u.startswith("https://storage.googleapis.com/") for u in tfds_source.download_urls(builder))


@pytest.mark.parametrize("spec", ["tfds:mnist", "fashion_mnist"])
def test_offline_download_fails_in_seconds_with_one_line(spec, tmp_path, monkeypatch):
    """Here the machine may really be offline; elsewhere DNS is made to fail. Either way: < 15 s."""
    real = socket.getaddrinfo

    def no_dns(host, *args, **kwargs):
        if host in ("127.0.0.1", "localhost"):
            return real(host, *args, **kwargs)
        raise socket.gaierror(-2, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    monkeypatch.setattr(tfds_source, "_child_command", lambda *a: pytest.fail("TFDS started offline"))
    start = time.monotonic()
    result = invoke("data", "download", spec, "--data-dir", str(tmp_path / "tfds"))
    elapsed = time.monotonic() - start
    assert result.exit_code != 0
    text = " ".join(result.output.split())
    assert len(result.output.strip().splitlines()) <= 2, result.output
    assert "could not reach" in text and (".googleapis.com" in text or "fashion-mnist" in text), text
    assert "--data-dir" in text and "folder:PATH" in text and "npz:PATH" in text
    assert "WARNING" not in result.output and "Retrying" not in result.output
    assert elapsed < 15, f"the offline failure took {elapsed:.1f} s"
    assert not (tmp_path / "tfds").exists()


def test_offline_train_download_for_real(tmp_path):
    """No patching: the real check against the real hosts (skipped where the network answers)."""
    if _online():
        pytest.skip("this machine reaches storage.googleapis.com")
    start = time.monotonic()
    result = invoke("train", "simplenet", "--dataset", "tfds:mnist", "--download",
                    "--data-dir", str(tmp_path / "tfds"), "--out", str(tmp_path / "run"))
    elapsed = time.monotonic() - start
    assert result.exit_code == 2 and "storage.googleapis.com" in result.output, result.output
    assert elapsed < 15, f"the offline failure took {elapsed:.1f} s"
    assert not (tmp_path / "tfds").exists() and not (tmp_path / "run").exists()


class _Builder:
    """Just enough of a TFDS builder for download_and_prepare: not prepared, one URL."""

    url_infos = {"http://127.0.0.1:9/mnist.gz": None}

    def is_prepared(self):
        return False


SLOW_CHILD = """
import pathlib, sys, time
root = pathlib.Path(sys.argv[2])
(root / "mnist" / "3.0.1.incompleteABC").mkdir(parents=True)
(root / "mnist" / "3.0.1.incompleteABC" / "part.tfrecord").write_bytes(b"x" * 100)
(root / "downloads" / "abc.tmp.123").mkdir(parents=True)
(root / "downloads" / "abc.tmp.123" / "mnist.gz").write_bytes(b"y" * 100)
(root.parent / "ready").write_text("go")  # beside the data dir: the test's signal
time.sleep(120)
"""


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_during_download_stops_it_and_removes_partial_files(sig, tmp_path, monkeypatch):
    root = tmp_path / "tfds"
    (root / "downloads").mkdir(parents=True)
    (root / "downloads" / "older.zip").write_text("an earlier, finished download")  # kept
    monkeypatch.setattr(tfds_source, "check_reachable", lambda *a, **k: None)
    monkeypatch.setattr(tfds_source, "_child_command",
                        lambda name, data_dir, result: [sys.executable, "-c", SLOW_CHILD, name, data_dir, result])

    def interrupt():
        for _ in range(300):
            if (tmp_path / "ready").exists():
                break
            time.sleep(0.05)
        os.kill(os.getpid(), sig)  # as Ctrl-C or `kill` would

    handler = signal.getsignal(signal.SIGTERM)
    threading.Thread(target=interrupt, daemon=True).start()
    start = time.monotonic()
    with pytest.raises(KeyboardInterrupt, match="partial files .* were removed"):
        tfds_source.download_and_prepare(_Builder(), "mnist", root)
    assert time.monotonic() - start < 20  # the child sleeps 120 s: it was killed, not waited for
    assert sorted(p.relative_to(root).as_posix() for p in root.rglob("*")) == ["downloads", "downloads/older.zip"]
    assert signal.getsignal(signal.SIGTERM) is handler  # the download's own handler is gone again


def test_failed_download_says_why_and_cleans_up(tmp_path, monkeypatch):
    root = tmp_path / "tfds"
    monkeypatch.setattr(tfds_source, "check_reachable", lambda *a, **k: None)
    child = ("import json, pathlib, sys; r = pathlib.Path(sys.argv[2]); (r / 'mnist').mkdir(parents=True); "
             "pathlib.Path(sys.argv[3]).write_text(json.dumps({'type': 'ConnectionError', 'message': 'reset', "
             "'module': None})); sys.exit(1)")
    monkeypatch.setattr(tfds_source, "_child_command",
                        lambda name, data_dir, result: [sys.executable, "-c", child, name, data_dir, result])
    with pytest.raises(DataError, match=r"Downloading TFDS dataset 'mnist' failed \(ConnectionError: reset\)"):
        tfds_source.download_and_prepare(_Builder(), "mnist", root)
    assert not root.exists()

"""A run killed at any write or rename point resumes to exactly the run it would have been.

The trainer publishes every file by a rename (zoo/io.py ``atomic_path``, the checkpoint, the
backup folder); each rename first passes ``zoo.io.fault_point``, which under the test-only
``ZOO_FAULT_AT=N:SIGNAL`` sends the process SIGNAL at its N-th point. A reference run lists the
points; then for every point and each of SIGKILL, SIGINT and SIGTERM a run is stopped there and
resumed with ``--resume``, and its weights and history must equal the reference's, with no
temporary file or backup left behind.
"""

import csv
import json
import os
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from kit import run_zoo

ARGS = ["train", "simplenet", "--input-shape", "16,16,1", "--limit", "640", "--batch-size", "64",
        "--epochs", "3", "--seed", "5", "--deterministic", "--schedule", "step", "--step-size", "1",
        "--gamma", "0.7", "--augment", "light", "--quiet"]
TIMING = ("epoch_seconds", "train_seconds")

pytestmark = pytest.mark.slow


def history(run: Path) -> list[dict]:
    rows = list(csv.DictReader((run / "history.csv").open()))
    return [{k: v for k, v in r.items() if k not in TIMING} for r in rows]


def leftovers(run: Path) -> list[str]:
    """Temporary files and backups that a finished run must not keep."""
    return sorted(str(p.relative_to(run)) for p in run.rglob("*")
                  if ".tmp" in p.name or p.name == "backup" or p.name.endswith(".zoo-lock"))


def _reference(root: Path, args):
    """The uninterrupted run, and the points it passed (1-based, with what each published)."""
    log = root / "points.log"
    done = run_zoo(*args, "--out", root / "ref", fault="0", log=log)
    assert done.returncode == 0, done.stderr
    points = [line.split("\t", 1)[1] for line in log.read_text().splitlines()]
    from zoo.run import load_model

    return root, points, load_model(root / "ref").get_weights(), history(root / "ref")


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    return _reference(tmp_path_factory.mktemp("faults"), ARGS)


# Weight EMA (optimizer variables), one-cycle LR and MixUp/CutMix (stateless draws per epoch and
# batch) must resume exactly too: the averages are in the backup, the mixing is seeded by position.
EMA_ARGS = [a for a in ARGS if a not in ("--schedule", "step", "--step-size", "1", "--gamma", "0.7")] + [
    "--schedule", "onecycle", "--ema", "0.9", "--mixup", "0.4", "--cutmix", "1.0"]


@pytest.fixture(scope="module")
def ema_reference(tmp_path_factory):
    return _reference(tmp_path_factory.mktemp("ema-faults"), EMA_ARGS)


def test_every_kind_of_write_is_a_point(reference):
    _, points, _, _ = reference
    for expected in ("config.json", "history.csv", "best.keras", "backup epoch 1", "backup epoch 3",
                     "backup epoch 3 (final)", "curves.png", "confusion.png", "model.keras", "metrics.json"):
        assert expected in points, points
    assert points[-1] == "metrics.json"  # its presence marks a finished run, so it is written last


def _same_as_reference(run: Path, reference) -> list[str]:
    from zoo.run import load_model

    _, _, ref_weights, ref_history = reference
    problems = []
    if history(run) != ref_history:
        problems.append("history differs")
    got = load_model(run).get_weights()
    if len(got) != len(ref_weights) or any(not np.array_equal(a, b) for a, b in zip(got, ref_weights)):
        problems.append("weights differ")
    if leftovers(run):
        problems.append(f"left behind: {leftovers(run)}")
    return problems


def test_sigkill_at_every_point_resumes_to_the_same_run(reference):
    _kill_at_every_point(reference, ARGS)


def test_an_ema_onecycle_mixup_run_killed_at_every_point_resumes_to_the_same_run(ema_reference):
    _kill_at_every_point(ema_reference, EMA_ARGS)


def _kill_at_every_point(reference, args):
    root, points, _, _ = reference

    def kill_then_resume(k):
        run = root / f"kill{k}"
        victim = run_zoo(*args, "--out", run, fault=f"{k}:KILL")
        if victim.returncode != -signal.SIGKILL:
            return k, [f"not killed (exit {victim.returncode}): {victim.stderr[-300:]}"]
        resumed = run_zoo(*args, "--out", run, "--resume")
        if resumed.returncode != 0:
            return k, [f"resume failed (exit {resumed.returncode}): {resumed.stderr.strip()[-300:]}"]
        return k, _same_as_reference(run, reference)

    with ThreadPoolExecutor(2) as pool:  # two processes at a time: this machine's two cores
        results = dict(pool.map(kill_then_resume, range(1, len(points) + 1)))
    bad = {f"{k} ({points[k - 1]})": v for k, v in results.items() if v}
    assert not bad, bad


# SIGINT and SIGTERM are handled in Python, so one process can take every point in turn: it runs
# the CLI in-process (typer's runner), stopped at point k, then resumes it, for every k.
DRIVER = r"""
import json, os, sys
from typer.testing import CliRunner
import zoo.io
from zoo.cli.main import app
from zoo.cli.train import _install_sigterm

_install_sigterm()
args, root, sig, count = json.loads(sys.argv[1])
out = []
for k in range(1, count + 1):
    run = os.path.join(root, f"{sig.lower()}{k}")
    zoo.io._points_passed = 0
    os.environ["ZOO_FAULT_AT"] = f"{k}:{sig}"
    stopped = CliRunner().invoke(app, args + ["--out", run])
    del os.environ["ZOO_FAULT_AT"]
    resumed = CliRunner().invoke(app, args + ["--out", run, "--resume"])
    out.append({"k": k, "run": run, "stopped": stopped.exit_code, "stopped_output": stopped.output,
                "resumed": resumed.exit_code, "resumed_output": resumed.output})
print(json.dumps(out))
"""


@pytest.mark.parametrize("sig", ["INT", "TERM"])
def test_sigint_and_sigterm_at_every_point_resume_to_the_same_run(reference, sig):
    root, points, _, _ = reference
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "TF_CPP_MIN_LOG_LEVEL": "2"}
    env.pop("ZOO_FAULT_AT", None)
    done = subprocess.run([sys.executable, "-c", DRIVER, json.dumps([ARGS, str(root), sig, len(points)])],
                          capture_output=True, text=True, env=env, timeout=1200)
    assert done.returncode == 0, done.stderr[-2000:]
    bad = {}
    for r in json.loads(done.stdout.strip().splitlines()[-1]):
        where = f"{r['k']} ({points[r['k'] - 1]})"
        message = r["stopped_output"].strip().splitlines()
        problems = []
        if r["stopped"] != 130:
            problems.append(f"stopped with exit {r['stopped']}, not 130: {r['stopped_output'][-300:]}")
        elif len(message) > 2 or "Traceback" in r["stopped_output"] or "Interrupted" not in r["stopped_output"]:
            problems.append(f"unclear message: {r['stopped_output'][-300:]}")
        if r["resumed"] != 0:
            problems.append(f"resume failed ({r['resumed']}): {r['resumed_output'][-300:]}")
        else:
            problems += _same_as_reference(Path(r["run"]), reference)
        if problems:
            bad[where] = problems
    assert not bad, bad

"""One writer per run directory: a second `zoo train` refuses with the owner's pid; a killed owner's lock is free."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from kit import start_zoo

from zoo.errors import TrainingError
from zoo.rundir import RunLock, is_locked, lock_path

TRAIN = ["train", "simplenet", "--input-shape", "16,16,1", "--limit", "512", "--batch-size", "32", "--quiet"]


def _zoo(*args, **kwargs):
    return start_zoo(*TRAIN, *args, env={"TF_CPP_MIN_LOG_LEVEL": "3"}, **kwargs)  # stderr: the CLI's lines only


def _wait_for(predicate, timeout=120):
    end = time.time() + timeout
    while time.time() < end:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def test_second_train_refuses_then_takes_over_a_killed_owners_lock(tmp_path):
    out = tmp_path / "run"
    first = _zoo("--epochs", "200", "--out", str(out))
    try:
        assert _wait_for(lambda: (out / "history.csv").is_file(), timeout=600), first.stderr.read() if first.poll() else "slow"
        owner = json.loads(lock_path(out).read_text())
        assert owner["pid"] == first.pid and is_locked(out)
        for extra in ([], ["--overwrite"], ["--resume"]):
            second = _zoo("--epochs", "200", "--out", str(out), *extra)
            _, err = second.communicate(timeout=600)
            lines = [line for line in err.splitlines() if line.strip()]
            assert second.returncode != 0 and len(lines) <= 2, err
            assert f"pid {first.pid}" in err and "in use" in err and "Traceback" not in err
        assert (out / "history.csv").is_file()  # --overwrite did not delete the live run
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    assert lock_path(out).is_file()  # left behind by the killed process: stale
    third = _zoo("--epochs", "2", "--out", str(out), "--overwrite")
    _, err = third.communicate(timeout=900)
    assert third.returncode == 0, err
    assert (out / "model.keras").is_file() and not lock_path(out).exists()


HOLDER = """
import sys, time
from zoo.rundir import RunLock
with RunLock(sys.argv[1], "holder"):
    print("held", flush=True)
    time.sleep(120)
"""


def test_lock_is_released_refused_while_held_and_free_once_its_holder_is_killed(tmp_path):
    from zoo.rundir import is_locked

    with RunLock(tmp_path / "a", "test"):
        assert lock_path(tmp_path / "a").is_file()
        assert json.loads(lock_path(tmp_path / "a").read_text())["pid"] == os.getpid()
    assert not lock_path(tmp_path / "a").exists()
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(tmp_path / "b")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        assert is_locked(tmp_path / "b")
        with pytest.raises(TrainingError, match=f"pid {holder.pid}"):
            RunLock(tmp_path / "b", "test").__enter__()
    finally:
        holder.kill()
        holder.wait()
    assert not is_locked(tmp_path / "b")
    with RunLock(tmp_path / "b", "test") as lock:  # the kernel dropped the dead holder's lock
        assert lock.took_over["pid"] == holder.pid


def test_a_failed_start_leaves_no_new_parent_folder(tmp_path):
    with RunLock(tmp_path / "new" / "run", "test"):
        assert (tmp_path / "new").is_dir()
    assert not (tmp_path / "new").exists()

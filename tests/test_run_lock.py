"""One writer per run directory: a second `zoo train` refuses with the owner's pid; a killed owner's lock is taken over."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from zoo.errors import TrainingError
from zoo.run import RunLock, lock_path

TRAIN = ["-m", "zoo.cli.main", "train", "simplenet", "--input-shape", "16,16,1", "--limit", "512",
         "--batch-size", "32", "--quiet"]


def _zoo(*args, **kwargs):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""}
    return subprocess.Popen([sys.executable, *TRAIN, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env, **kwargs)


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
        assert _wait_for(lambda: (out / "history.csv").is_file()), first.stderr.read() if first.poll() else "slow"
        owner = json.loads(lock_path(out).read_text())
        assert owner["pid"] == first.pid
        for extra in ([], ["--overwrite"], ["--resume"]):
            second = _zoo("--epochs", "200", "--out", str(out), *extra)
            _, err = second.communicate(timeout=120)
            lines = [line for line in err.splitlines() if line.strip()]
            assert second.returncode != 0 and len(lines) <= 2, err
            assert f"pid {first.pid}" in err and "in use" in err and "Traceback" not in err
        assert (out / "history.csv").is_file()  # --overwrite did not delete the live run
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    assert lock_path(out).is_file()  # left behind by the killed process: stale
    third = _zoo("--epochs", "2", "--out", str(out), "--overwrite")
    _, err = third.communicate(timeout=300)
    assert third.returncode == 0, err
    assert (out / "model.keras").is_file() and not lock_path(out).exists()


def test_lock_is_released_and_reentry_by_another_holder_refused(tmp_path):
    with RunLock(tmp_path / "a", "test"):
        assert lock_path(tmp_path / "a").is_file()
        owner = json.loads(lock_path(tmp_path / "a").read_text())
        assert owner["pid"] == os.getpid()
    assert not lock_path(tmp_path / "a").exists()
    # a lock of a live process that is not us
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        from zoo.run import _process_start

        lock_path(tmp_path / "b").write_text(json.dumps({"pid": sleeper.pid, "host": os.uname().nodename,
                                                         "start": _process_start(sleeper.pid), "command": "x"}))
        with pytest.raises(TrainingError, match=f"pid {sleeper.pid}"):
            RunLock(tmp_path / "b", "test").__enter__()
    finally:
        sleeper.kill()
        sleeper.wait()
    with RunLock(tmp_path / "b", "test") as lock:  # now stale: taken over
        assert lock.took_over["pid"] == sleeper.pid


def test_a_recycled_pid_is_not_taken_for_the_owner(tmp_path):
    lock_path(tmp_path / "c").write_text(json.dumps({"pid": os.getppid(), "host": os.uname().nodename,
                                                     "start": "1", "command": "x"}))
    with RunLock(tmp_path / "c", "test") as lock:
        assert lock.took_over is not None

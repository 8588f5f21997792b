"""An interrupted run (SIGINT or SIGKILL) resumed with --resume ends with the same weights as an
uninterrupted one, and its history has every epoch exactly once."""

import csv
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

ARGS = ["train", "simplenet", "--input-shape", "16,16,1", "--limit", "1024", "--batch-size", "64",
        "--epochs", "3", "--seed", "5", "--deterministic", "--schedule", "step", "--step-size", "1",
        "--gamma", "0.7", "--augment", "light", "--quiet"]


def zoo(*args, **kw):
    cmd = [sys.executable, "-c", "from zoo.cli.main import main; main()", *map(str, args)]
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "TF_CPP_MIN_LOG_LEVEL": "2"}
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, **kw)


def finished_epochs(run):
    meta = run / "checkpoints" / "backup" / "training_metadata.json"
    try:
        return json.loads(meta.read_text())["epoch"]
    except (OSError, ValueError, KeyError):
        return 0


def weights(run):
    from zoo.run import load_model

    return load_model(run).get_weights()


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["sigint", "sigkill"])
def test_resumed_run_matches_uninterrupted(tmp_path, sig):
    ref = zoo(*ARGS, "--out", tmp_path / "ref")
    run = tmp_path / "run"
    victim = zoo(*ARGS, "--out", run)
    deadline = time.time() + 300
    while finished_epochs(run) < 1 and victim.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    victim.send_signal(sig)
    _, err = victim.communicate(timeout=120)
    assert not (run / "model.keras").exists(), "the run finished before it could be interrupted"
    done = finished_epochs(run)
    assert 1 <= done < 3
    if sig == signal.SIGINT:
        assert victim.returncode == 130, err
        assert "--resume" in err and "Traceback" not in err
    resumed = zoo(*ARGS, "--out", run, "--resume")
    _, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err
    _, err = ref.communicate(timeout=300)
    assert ref.returncode == 0, err

    rows = list(csv.DictReader((run / "history.csv").open()))
    assert [int(r["epoch"]) for r in rows] == [0, 1, 2]
    assert [float(r["learning_rate"]) for r in rows] == pytest.approx([0.001 * 0.7**e for e in range(3)], rel=1e-5)
    ref_rows = list(csv.DictReader((tmp_path / "ref" / "history.csv").open()))
    assert [r["loss"] for r in rows] == [r["loss"] for r in ref_rows]
    for a, b in zip(weights(tmp_path / "ref"), weights(run)):
        np.testing.assert_array_equal(a, b)

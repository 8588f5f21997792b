"""An interrupted run (SIGINT or SIGKILL) resumed with --resume ends with the same weights as an
uninterrupted one, and its history has every epoch exactly once (every point and SIGTERM:
tests/test_fault_injection.py)."""

import csv
import signal

import numpy as np
import pytest
from kit import resolved_config, start_zoo

ARGS = ["train", "simplenet", "--input-shape", "16,16,1", "--limit", "1024", "--batch-size", "64",
        "--epochs", "3", "--seed", "5", "--deterministic", "--schedule", "step", "--step-size", "1",
        "--gamma", "0.7", "--augment", "light", "--quiet"]


def zoo(*args, fault=None):
    return start_zoo(*args, fault=fault)  # zoo.io.fault_point: the process signals itself there (no race)


def weights(run):
    from zoo.run import load_model

    return load_model(run).get_weights()


@pytest.mark.slow
@pytest.mark.parametrize("sig", ["INT", "KILL"], ids=["sigint", "sigkill"])
def test_resumed_run_matches_uninterrupted(tmp_path, sig):
    """The real command, signalled just before it publishes its epoch-2 backup."""
    from zoo.training.backup import Backup

    ref = zoo(*ARGS, "--out", tmp_path / "ref")
    run = tmp_path / "run"
    victim = zoo(*ARGS, "--out", run, fault=f"backup epoch 2:{sig}")
    _, err = victim.communicate(timeout=300)
    assert not (run / "model.keras").exists(), "the run finished: it was not interrupted"
    assert Backup(run / "checkpoints" / "backup").latest().epoch == 1
    if sig == "INT":
        assert victim.returncode == 130, err
        assert "--resume" in err and "Traceback" not in err
    else:
        assert victim.returncode == -signal.SIGKILL
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


def _stream_setup(epochs):
    from zoo.data import load_dataset

    config = resolved_config("lenet5", epochs=epochs, batch_size=64, augment="flip,crop=2", limit=200,
                             input_shape=(28, 28, 1))
    return load_dataset("fashion_mnist", limit=200, val_fraction=0.1, seed=0), config


def test_long_runs_get_the_same_batches_built_lazily():
    from zoo.training.trainer import train_stream

    data, config = _stream_setup(epochs=4)
    eager = list(train_stream(data, config, (28, 28, 1), 1))
    lazy = list(train_stream(data, config, (28, 28, 1), 1, eager_epochs=0))
    assert len(eager) == len(lazy) == 3 * -(-data.sizes["train"] // 64)  # 3 epochs left, batches of 64
    for (xa, ya), (xb, yb) in zip(eager, lazy):
        np.testing.assert_array_equal(xa.numpy(), xb.numpy())
        np.testing.assert_array_equal(ya.numpy(), yb.numpy())


def test_a_huge_epoch_count_starts_at_once():
    from zoo.training.trainer import train_stream

    data, config = _stream_setup(epochs=100_000_000)  # built up front, this would never start
    first = next(iter(train_stream(data, config, (28, 28, 1), 0)))
    expected = next(iter(train_stream(data, _stream_setup(epochs=1)[1], (28, 28, 1), 0)))
    np.testing.assert_array_equal(first[0].numpy(), expected[0].numpy())

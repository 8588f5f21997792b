"""--strategy multiworker: two worker processes on 127.0.0.1 train in lockstep; only the chief writes."""

import json
import os
import socket
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from kit import invoke

from zoo.training.distributed import is_chief, largest_divisor_at_most

WORKER = textwrap.dedent("""
    import json, sys
    import numpy as np
    from zoo.training import TrainConfig
    from zoo.training.trainer import train

    out, weights, epochs, resume = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4] == "resume"
    cfg = TrainConfig(model="simplenet", input_shape=(16, 16, 1), limit=256, batch_size=32, epochs=epochs,
                      strategy="multiworker", out=out, seed=0, schedule="step", step_size=1, gamma=0.5,
                      augment="light")
    result = train(cfg, resume=resume)
    np.savez(weights, *result.model.get_weights())
""")


def free_ports(n):
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def launch(tmp_path, outs, tag, *, epochs=2, resume=False, chief_env=None):
    """Two workers on 127.0.0.1 (worker 0 is the chief); each saves its final weights to {tag}{i}.npz."""
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    workers = [f"127.0.0.1:{p}" for p in free_ports(2)]
    procs = []
    for i in range(2):
        env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "TF_CPP_MIN_LOG_LEVEL": "2",
               "TF_CONFIG": json.dumps({"cluster": {"worker": workers}, "task": {"type": "worker", "index": i}}),
               **((chief_env or {}) if i == 0 else {})}
        procs.append(subprocess.Popen([sys.executable, str(script), str(outs[i]), str(tmp_path / f"{tag}{i}.npz"),
                                       str(epochs), "resume" if resume else "new"], env=env,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    return procs


def finish(procs):
    for p in procs:
        _, err = p.communicate(timeout=400)
        assert p.returncode == 0, err[-3000:]


@pytest.mark.slow
def test_two_workers_end_with_identical_weights_and_only_the_chief_writes(tmp_path):
    finish(launch(tmp_path, [tmp_path / "out0", tmp_path / "out1"], "w"))
    w0, w1 = np.load(tmp_path / "w0.npz"), np.load(tmp_path / "w1.npz")
    assert w0.files == w1.files and len(w0.files) > 4
    for k in w0.files:
        np.testing.assert_array_equal(w0[k], w1[k])
    chief = tmp_path / "out0"
    for name in ("config.json", "model.keras", "history.csv", "metrics.json", "curves.png"):
        assert (chief / name).is_file(), name
    assert json.loads((chief / "config.json").read_text())["workers"] == 2
    assert not (tmp_path / "out1").exists()
    rows = (chief / "history.csv").read_text().splitlines()
    assert len(rows) == 3  # header + 2 epochs
    # the same callbacks as model.fit: LR logging, validation, the backup removed once finished
    assert {"learning_rate", "val_loss", "val_accuracy", "epoch_seconds"} <= set(rows[0].split(","))
    assert (chief / "checkpoints" / "best.keras").is_file() and not (chief / "checkpoints" / "backup").exists()


@pytest.mark.slow
def test_a_two_worker_run_killed_by_sigkill_resumes_to_the_same_weights(tmp_path):
    """The chief is SIGKILLed just before publishing its epoch-2 backup (the other worker then hangs
    in the all-reduce and is killed too); both resume from the chief's epoch-1 backup."""
    ref = launch(tmp_path, [tmp_path / "ref", tmp_path / "ref-other"], "ref", epochs=3)
    run = tmp_path / "run"
    victims = launch(tmp_path, [run, run], "victim", epochs=3, chief_env={"ZOO_FAULT_AT": "backup epoch 2:KILL"})
    victims[0].communicate(timeout=400)
    assert victims[0].returncode == -9, "the chief was not killed before its epoch-2 backup"
    victims[1].kill()
    victims[1].communicate(timeout=60)
    from zoo.training.backup import Backup

    assert Backup(run / "checkpoints" / "backup").latest().epoch == 1
    finish(launch(tmp_path, [run, run], "resumed", epochs=3, resume=True))
    finish(ref)
    for tag in ("resumed0", "resumed1"):
        got, want = np.load(tmp_path / f"{tag}.npz"), np.load(tmp_path / "ref0.npz")
        assert got.files == want.files
        for k in want.files:
            np.testing.assert_array_equal(got[k], want[k])
    assert len((run / "history.csv").read_text().splitlines()) == 4  # header + 3 epochs, each once


def test_chief_selection(monkeypatch):
    cluster = {"worker": ["a:1", "b:2"]}
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": cluster, "task": {"type": "worker", "index": 0}}))
    assert is_chief()
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": cluster, "task": {"type": "worker", "index": 1}}))
    assert not is_chief()
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": {**cluster, "chief": ["c:3"]},
                                                "task": {"type": "worker", "index": 0}}))
    assert not is_chief()
    monkeypatch.delenv("TF_CONFIG")
    assert is_chief()


@pytest.mark.parametrize("n, cap, expected", [(422, 16, 2), (432, 16, 16), (7, 16, 7), (100, 16, 10), (1, 16, 1)])
def test_steps_per_execution_divides_the_epoch(n, cap, expected):
    assert largest_divisor_at_most(n, cap) == expected


def test_mirrored_strategy_trains_through_fit(tmp_path):
    out = tmp_path / "mirrored"
    result = invoke("train", "simplenet", "--input-shape", "16,16,1", "--limit", "128",
                    "--batch-size", "64", "--epochs", "1", "--strategy", "mirrored",
                    "--quiet", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert (out / "model.keras").is_file()
    assert json.loads((out / "config.json").read_text())["strategy"] == "mirrored"

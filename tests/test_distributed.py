"""--strategy multiworker: two worker processes on 127.0.0.1 train in lockstep; only the chief writes."""

import json
import os
import socket
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from zoo.training.distributed import is_chief, largest_divisor_at_most

WORKER = textwrap.dedent("""
    import sys
    import numpy as np
    from zoo.training import TrainConfig
    from zoo.training.trainer import train

    cfg = TrainConfig(model="simplenet", input_shape=(16, 16, 1), limit=256, batch_size=32, epochs=2,
                      strategy="multiworker", out=sys.argv[1], seed=0, schedule="step", step_size=1, gamma=0.5)
    result = train(cfg)
    np.savez(sys.argv[2], *result.model.get_weights())
""")


def free_ports(n):
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


@pytest.mark.slow
def test_two_workers_end_with_identical_weights_and_only_the_chief_writes(tmp_path):
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    workers = [f"127.0.0.1:{p}" for p in free_ports(2)]
    procs = []
    for i in range(2):
        env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "TF_CPP_MIN_LOG_LEVEL": "2",
               "TF_CONFIG": json.dumps({"cluster": {"worker": workers}, "task": {"type": "worker", "index": i}})}
        procs.append(subprocess.Popen([sys.executable, str(script), str(tmp_path / f"out{i}"),
                                       str(tmp_path / f"w{i}.npz")], env=env, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True))
    for p in procs:
        _, err = p.communicate(timeout=400)
        assert p.returncode == 0, err[-3000:]
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
    from typer.testing import CliRunner

    from zoo.cli.main import app

    out = tmp_path / "mirrored"
    result = CliRunner().invoke(app, ["train", "simplenet", "--input-shape", "16,16,1", "--limit", "128",
                                      "--batch-size", "64", "--epochs", "1", "--strategy", "mirrored",
                                      "--quiet", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert (out / "model.keras").is_file()
    assert json.loads((out / "config.json").read_text())["strategy"] == "mirrored"

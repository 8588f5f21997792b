"""Specific one-line messages: out of memory or disk, a corrupt IDX header, training at chance level."""

import errno

import numpy as np
import pytest
import typer
from kit import invoke

from zoo.cli.common import friendly_errors, resource_message
from zoo.errors import DataError


def run_failing(exc):
    app = typer.Typer()

    @app.command()
    @friendly_errors
    def boom():
        raise exc

    return invoke(app=app)


class ResourceExhaustedError(Exception):  # TensorFlow's, matched by name so the CLI never imports TF for it
    pass


@pytest.mark.parametrize("exc, expected", [
    (MemoryError(), "Out of memory: this needs more than the machine's"),
    (ResourceExhaustedError("OOM when allocating tensor with shape[512,64,2000,2000]"), "shape[512,64,2000,2000]"),
    (OSError(errno.ENOSPC, "No space left on device", "runs/x/model.keras"), "writing runs/x/model.keras"),
    (OSError(errno.EROFS, "Read-only file system", "/ro/run"), "read-only writing /ro/run"),
])
def test_resource_errors_get_their_own_line(exc, expected):
    result = run_failing(exc)
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == 1
    assert len(lines) <= 2 and "Traceback" not in result.output and "Unexpected" not in result.output
    assert expected in " ".join(result.output.split())


def test_the_disk_full_message_says_a_training_resumes():
    message = resource_message(OSError(errno.ENOSPC, "No space left on device", "h.csv"))
    assert "--resume" in message


def test_other_os_errors_stay_unexpected():
    assert resource_message(OSError(errno.EIO, "I/O error")) is None
    result = run_failing(OSError(errno.EIO, "I/O error"))
    assert result.exit_code == 1 and "Unexpected error (OSError)" in result.output


def test_an_overflowing_idx_header_gives_the_true_byte_count(tmp_path):
    from zoo.data.idx import read_idx

    path = tmp_path / "images-idx3-ubyte"
    dims = [2**31 - 1, 2**31 - 1, 2**31 - 1]  # their product overflows int64
    path.write_bytes(bytes([0, 0, 8, 3]) + np.asarray(dims, ">i4").tobytes() + bytes(100))
    with pytest.raises(DataError) as err:
        read_idx(path, 3)
    assert f"{16 + (2**31 - 1) ** 3} bytes" in str(err.value) and "holds 116" in str(err.value)
    negative = tmp_path / "neg-idx1-ubyte"
    negative.write_bytes(bytes([0, 0, 8, 1]) + np.asarray([-5], ">i4").tobytes())
    with pytest.raises(DataError, match="negative size"):
        read_idx(negative, 1)


def test_training_at_chance_level_is_said():
    from zoo.training import TrainConfig
    from zoo.training.trainer import chance_note

    config = TrainConfig(model="simplenet", lr=1e30, optimizer="adam")
    stuck = [{"epoch": 0, "accuracy": 0.101}, {"epoch": 1, "accuracy": 0.099}]
    note = chance_note(config, stuck, 10)
    assert "learned nothing" in note and "--lr 1e+30" in note
    learning = [{"epoch": 0, "accuracy": 0.6}, {"epoch": 1, "accuracy": 0.8}]
    assert chance_note(config, learning, 10) is None

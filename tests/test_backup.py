"""The backup is one unit: the newest complete one is used, a damaged one is refused clearly."""

import json

import numpy as np
import pytest
from kit import vector_model

from zoo.training.backup import RNG_FILE, STATE_FILE, WEIGHTS_FILE, Backup, BackupError


def tiny_model(seed=0):
    model = vector_model(4, 2, hidden=3, dropout=0.5, seed=seed)
    model.compile(optimizer="adam", loss="mse")
    model.optimizer.build(model.trainable_variables)
    return model


def test_restore_gives_back_weights_optimizer_step_and_epoch(tmp_path):
    model = tiny_model()
    model.fit(np.ones((8, 4)), np.ones((8, 2)), epochs=1, verbose=0)
    backup = Backup(tmp_path / "backup")
    backup.save(model, 1)
    backup.save(model, 2, final=True, info={"stopped_early": True})
    assert [p.name for p in (tmp_path / "backup").iterdir()] == ["000002"]  # older ones removed
    other = tiny_model(seed=1)
    state = backup.restore(other)
    assert (state.epoch, state.final, state.info) == (2, True, {"stopped_early": True})
    for a, b in zip(model.get_weights(), other.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert int(other.optimizer.iterations.numpy()) == int(model.optimizer.iterations.numpy()) > 0


def test_no_backup_is_none_and_epoch_zero(tmp_path):
    assert Backup(tmp_path / "nothing").restore(tiny_model()) is None
    assert Backup(tmp_path / "nothing").epoch() == 0


@pytest.mark.parametrize("damage", ["flip a byte", "truncate", "delete weights", "delete rng", "delete state"])
def test_a_damaged_backup_is_refused_with_what_to_do(tmp_path, damage):
    model = tiny_model()
    unit = Backup(tmp_path / "backup").save(model, 3)
    weights = unit / WEIGHTS_FILE
    if damage == "flip a byte":
        data = bytearray(weights.read_bytes())
        data[len(data) // 2] ^= 0xFF
        weights.write_bytes(bytes(data))
    elif damage == "truncate":
        weights.write_bytes(weights.read_bytes()[:100])
    else:
        (unit / {"delete weights": WEIGHTS_FILE, "delete rng": RNG_FILE, "delete state": STATE_FILE}[damage]).unlink()
    with pytest.raises(BackupError) as err:
        Backup(tmp_path / "backup").restore(tiny_model())
    message = str(err.value)
    assert str(unit) in message and "--overwrite" in message
    # listings (`zoo runs`) read only state.json, without checksums, and never raise
    assert Backup(tmp_path / "backup").epoch() == (0 if damage == "delete state" else 3)


def test_half_written_units_are_ignored_and_cleaned(tmp_path):
    model = tiny_model()
    backup = Backup(tmp_path / "backup")
    backup.save(model, 1)
    partial = tmp_path / "backup" / ".000002.999.tmp"  # a process killed while writing epoch 2
    partial.mkdir()
    (partial / WEIGHTS_FILE).write_bytes(b"half")
    assert backup.latest().epoch == 1
    backup.save(model, 2)
    assert not partial.exists()
    assert backup.latest().epoch == 2


def test_a_backup_written_by_zoo_0_2_still_resumes(tmp_path):
    model = tiny_model()
    folder = tmp_path / "backup"
    folder.mkdir()
    model.save_weights(str(folder / "latest.weights.h5"))
    (folder / "training_metadata.json").write_text(json.dumps({"epoch": 4, "batch": 0}))
    other = tiny_model(seed=1)
    assert Backup(folder).restore(other).epoch == 4
    np.testing.assert_array_equal(other.get_weights()[0], model.get_weights()[0])

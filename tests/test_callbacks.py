"""The best-model checkpoint is written atomically: a failed save leaves the previous best intact."""

import keras
import numpy as np
import pytest
from kit import vector_model

from zoo.training.callbacks import AtomicModelCheckpoint


def _tiny_model():
    model = vector_model(4, 2)
    model.compile("sgd", keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    return model


def test_best_checkpoint_is_renamed_into_place_and_survives_a_failed_save(tmp_path):
    best = tmp_path / "checkpoints" / "best.keras"
    best.parent.mkdir()
    x, y = np.random.default_rng(0).normal(size=(32, 4)).astype("float32"), np.arange(32) % 2
    model = _tiny_model()
    cb = AtomicModelCheckpoint(best, monitor="loss", mode="min", save_best_only=True)
    model.fit(x, y, epochs=1, verbose=0, callbacks=[cb])
    assert best.is_file() and not cb.tmp_path.exists()
    saved = best.read_bytes()
    keras.saving.load_model(best)  # a complete model file

    def broken_save(path, *args, **kwargs):
        with open(path, "wb") as f:
            f.write(b"half a zip")
        raise OSError("disk full")

    model.save = broken_save
    cb.best = np.inf  # force a save at the next epoch
    with pytest.raises(OSError):
        model.fit(x, y, epochs=1, verbose=0, callbacks=[cb])
    assert best.read_bytes() == saved  # the previous best is untouched

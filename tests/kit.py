"""The shared test kit: a tiny classifier, a fake run directory, a CLI runner, Fashion-MNIST-like data.

    from kit import cli, fake_run, tiny_classifier
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                   "Ankle boot"]
SYSTEM_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")


def real_fashion_mnist() -> bool:
    """The real Fashion-MNIST is there (Debian's package, or a $ZOO_DATA_DIR the user set)."""
    import os

    return not os.environ.get("ZOO_TEST_FAKE_FASHION_MNIST") and (
        SYSTEM_FASHION_MNIST.is_dir() or bool(os.environ.get("ZOO_DATA_DIR")))


# conftest.py has set up the stand-in before any test module is imported
needs_real_fashion_mnist = pytest.mark.skipif(
    not real_fashion_mnist(), reason="needs the real Fashion-MNIST (sudo apt-get install dataset-fashion-mnist)")


def tiny_classifier(shape=(28, 28, 1), classes: int = 10, *, seed: int = 0, name: str = "tiny", pool: bool = False):
    """An image classifier with the zoo's conventions (raw pixels in, Rescaling inside, logits out).

    ``pool`` ends in global average pooling (any input size, fewer weights) instead of Flatten.
    """
    import keras

    keras.utils.set_random_seed(seed)
    image = keras.Input(shape, name="image")
    x = keras.layers.Rescaling(1 / 255, name="rescale")(image)
    x = keras.layers.Conv2D(4, 3, strides=2, activation="relu", name="conv")(x)
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x) if pool else keras.layers.Flatten(name="flatten")(x)
    return keras.Model(image, keras.layers.Dense(classes, name="logits")(x), name=name)


def fake_run(root, model=None, *, name: str = "run", dataset: str = "fashion_mnist", class_names=None,
             **config) -> Path:
    """A run directory as `zoo train` leaves one: model.keras and config.json (more keys via ``config``)."""
    run = Path(root) / name
    run.mkdir(parents=True, exist_ok=True)
    model = model if model is not None else tiny_classifier()
    model.save(run / "model.keras")
    classes = int(model.outputs[0].shape[-1])
    names = list(class_names) if class_names is not None else (
        FASHION_CLASSES if classes == 10 else [str(i) for i in range(classes)])
    (run / "config.json").write_text(json.dumps({"model": model.name, "dataset": dataset, "class_names": names,
                                                 "num_classes": classes, **config}))
    return run


def _invoke(args):
    from typer.testing import CliRunner

    from zoo.cli.main import app

    return CliRunner().invoke(app, [str(a) for a in args])


def cli(*args) -> tuple[int, str]:
    """(exit code, everything printed) of `zoo ARGS...`, run in-process."""
    result = _invoke(args)
    return result.exit_code, result.output


def cli_json(*args):
    """(exit code, the JSON a `--json` command printed on stdout, or None, everything printed)."""
    result = _invoke(args)
    try:
        value = json.loads(result.stdout)
    except ValueError:
        value = None
    return result.exit_code, value, result.output


def write_fashion_like_idx(directory, *, train: int = 3000, test: int = 1000, seed: int = 0) -> Path:
    """Four IDX files in Fashion-MNIST's layout (28x28 uint8, 10 classes) with learnable classes:
    each class is a bright bar at its own place plus noise. For machines without the real data."""
    rng = np.random.default_rng(seed)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)

    def images(labels):
        x = rng.integers(0, 60, (len(labels), 28, 28)).astype(np.uint8)
        for i, c in enumerate(labels):
            x[i, 2 + 2 * c:5 + 2 * c, 4:24] = 220
        return x

    def write(path, array):
        header = bytes([0, 0, 8, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
        path.write_bytes(header + np.ascontiguousarray(array, np.uint8).tobytes())

    for prefix, n in (("train", train), ("t10k", test)):
        labels = (np.arange(n) % 10).astype(np.uint8)
        rng.shuffle(labels)
        write(directory / f"{prefix}-images-idx3-ubyte", images(labels))
        write(directory / f"{prefix}-labels-idx1-ubyte", labels)
    return directory

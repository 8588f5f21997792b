"""The shared test kit (keras-hub's ``TestCase.run_*_test`` in spirit): every test file takes its
helpers from here instead of building its own.

- data: ``pixels``, ``dataset_of``, ``save_image``, ``write_images``, ``write_npz``, ``write_idx_file(s)``,
  ``write_fashion_like_idx``, ``fashion_mnist_arrays`` and the ``needs_real_fashion_mnist`` mark;
- models: ``tiny_classifier`` (the zoo's conventions), ``linear_classifier`` (known weights),
  ``vector_model`` (no image at all);
- runs: ``fake_run`` writes a run directory (no test writes a run's config.json by hand);
- the CLI: ``invoke`` / ``cli`` / ``cli_json`` in-process, ``run_zoo`` / ``start_zoo`` / ``run_python``
  in a fresh interpreter;
- the registries: ``each(registry)`` parametrizes a test over a registry's records, and
  ``run_model_test``, ``run_attack_test``, ``run_explain_method_test``, ``run_source_test`` check what
  every record promises, so a new record needs no edit of an existing test.

    from kit import cli, fake_run, tiny_classifier

Importing the kit imports neither TensorFlow nor the CLI: each helper imports what it uses.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]  # the repository
FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                   "Ankle boot"]
SYSTEM_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")


# ---------------------------------------------------------------------------------------- data


def real_fashion_mnist() -> bool:
    """The real Fashion-MNIST is there (Debian's package, or a $ZOO_DATA_DIR the user set)."""
    return not os.environ.get("ZOO_TEST_FAKE_FASHION_MNIST") and (
        SYSTEM_FASHION_MNIST.is_dir() or bool(os.environ.get("ZOO_DATA_DIR")))


# conftest.py has set up the stand-in before any test module is imported
needs_real_fashion_mnist = pytest.mark.skipif(
    not real_fashion_mnist(), reason="needs the real Fashion-MNIST (sudo apt-get install dataset-fashion-mnist)")


def fashion_mnist_arrays(split: str = "train", n: int | None = None):
    """(images float32 N,28,28,1, labels int32): the first ``n`` of a split of the IDX files the zoo finds."""
    from zoo.data.idx import read_idx_pair
    from zoo.data.idx_source import IDX_FAMILIES, locate_idx

    files, _ = locate_idx(IDX_FAMILIES["fashion_mnist"])
    assert files is not None, "no Fashion-MNIST IDX files (conftest.py writes a stand-in)"
    x, y = read_idx_pair(files[f"{split}_images"], files[f"{split}_labels"])
    return x[:n].astype("float32"), y[:n].astype("int32")


def pixels(n: int, shape, *, seed: int = 0, low: float = 0.0, high: float = 255.0, whole: bool = False,
           dtype="float32") -> np.ndarray:
    """``n`` random images of ``shape`` with values in [low, high] (``whole``: integers), as ``dtype``."""
    rng = np.random.default_rng(seed)
    size = (n, *shape)
    values = rng.integers(int(low), int(high) + 1, size) if whole else rng.uniform(low, high, size)
    return values.astype(dtype)


def dataset_of(x, y=None, *, batch: int | None = None):
    """A tf.data dataset of (image, label) pairs (labels 0..N-1 when not given), batched when asked."""
    import tensorflow as tf

    y = np.arange(len(x), dtype=np.int64) if y is None else np.asarray(y)
    ds = tf.data.Dataset.from_tensor_slices((x, y))
    return ds.batch(batch) if batch else ds


def save_image(path, array, mode: str | None = None) -> Path:
    """``array`` (uint8 H,W or H,W,C) written as an image file; the format follows the suffix."""
    from PIL import Image

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.asarray(array, np.uint8), mode).save(path)
    return path


def write_images(folder, n: int, size=(12, 10), *, mode: str = "RGB", value: int = 0) -> Path:
    """``n`` PNGs ``img00.png``... of one grey level each (value, value + 1, ...), ``size`` = (W, H)."""
    folder = Path(folder)
    for i in range(n):
        shape = (size[1], size[0], 3) if mode == "RGB" else (size[1], size[0])
        save_image(folder / f"img{i:02d}.png", np.full(shape, (value + i) % 256, np.uint8), mode)
    return folder


def write_npz(path, n: int = 40, shape=(28, 28, 1), classes: int = 10, *, seed: int = 0, test=None,
              class_names=None) -> Path:
    """An .npz dataset of ``n`` random uint8 images whose labels cycle through ``classes``: arrays x/y,
    or x_train/y_train/x_test/y_test when ``test`` is a count (the first ``test`` images) or True (all)."""
    x = pixels(n, shape, seed=seed, whole=True, dtype=np.uint8)
    y = np.arange(n) % classes
    names = {} if class_names is None else {"class_names": np.array(class_names)}
    if test is None:
        np.savez(path, x=x, y=y, **names)
    else:
        k = n if test is True else int(test)
        np.savez(path, x_train=x, y_train=y, x_test=x[:k], y_test=y[:k], **names)
    return Path(path)


IDX_NAMES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
             "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}


def write_idx_file(path, array, *, gz: bool = False) -> Path:
    """``array`` (uint8) as an IDX file: magic 0x0000 08 ndim, big-endian dims, the bytes (``gz``: gzipped).
    Written here byte by byte, not by the zoo's writer, so that it tests the zoo's reader."""
    import gzip

    array = np.ascontiguousarray(array, np.uint8)
    data = bytes([0, 0, 8, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape) + array.tobytes()
    Path(path).write_bytes(gzip.compress(data) if gz else data)
    return Path(path)


def write_idx_files(directory, train, test, *, gz: bool = False) -> Path:
    """The four IDX files of an MNIST-style dataset from (images N,H,W uint8, labels) pairs."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    for split, (images, labels) in (("train", train), ("test", test)):
        for name, array in zip(IDX_NAMES[split], (images, labels)):
            write_idx_file(directory / (name + (".gz" if gz else "")), array, gz=gz)
    return directory


def write_fashion_like_idx(directory, *, train: int = 3000, test: int = 1000, seed: int = 0) -> Path:
    """Four IDX files in Fashion-MNIST's layout (28x28 uint8, 10 classes) with learnable classes:
    each class is a bright bar at its own place plus noise. For machines without the real data."""
    rng = np.random.default_rng(seed)

    def split(n):
        labels = (np.arange(n) % 10).astype(np.uint8)
        rng.shuffle(labels)
        x = rng.integers(0, 60, (n, 28, 28)).astype(np.uint8)
        for i, c in enumerate(labels):
            x[i, 2 + 2 * c:5 + 2 * c, 4:24] = 220
        return x, labels

    return write_idx_files(directory, split(train), split(test))


# -------------------------------------------------------------------------------------- models


def tiny_classifier(shape=(28, 28, 1), classes: int = 10, *, seed: int = 0, name: str = "tiny", convs=((4, 2),),
                    kernel: int = 3, padding: str = "valid", activation: str | None = "relu", batchnorm: bool = False,
                    pool: bool = False, hidden: int | None = None, rescale: bool = True, standardize=None,
                    softmax: bool = False):
    """An image classifier with the zoo's conventions: raw pixels in, ``rescale`` (1/255) inside, logits out.

    Layers: image, rescale, [standardize], conv1..convN (``convs`` = (filters, strides) each; with
    ``batchnorm`` each is followed by convN_bn and convN_relu), flatten or pool (``pool``: global
    average pooling, any input size), [fc1 with ``hidden`` units], logits. ``standardize`` is True
    (identity statistics) or (mean, variance); ``softmax`` ends in probabilities, as foreign models do.
    """
    import keras
    from keras import layers

    keras.utils.set_random_seed(seed)
    image = keras.Input(shape, name="image")
    x = layers.Rescaling(1 / 255, name="rescale")(image) if rescale else image
    if standardize is not None:
        stats = {} if standardize is True else dict(zip(("mean", "variance"), standardize))
        x = layers.Normalization(axis=-1, name="standardize", **stats)(x)
    for i, (filters, strides) in enumerate(convs, 1):
        x = layers.Conv2D(filters, kernel, strides=strides, padding=padding,
                          activation=None if batchnorm else activation, name=f"conv{i}")(x)
        if batchnorm:
            x = layers.BatchNormalization(name=f"conv{i}_bn")(x)
            x = layers.ReLU(name=f"conv{i}_relu")(x)
    x = layers.GlobalAveragePooling2D(name="pool")(x) if pool else layers.Flatten(name="flatten")(x)
    if hidden:
        x = layers.Dense(hidden, activation=activation, name="fc1")(x)
    logits = layers.Dense(classes, activation="softmax" if softmax else None, name="logits")(x)
    return keras.Model(image, logits, name=name)


def linear_classifier(shape=(4, 4, 1), classes: int = 2, *, kernel=None, bias=None, seed: int = 0,
                      softmax: bool = False, model_class=None):
    """logits = x W + b on the raw pixels (Flatten, then one Dense named "logits"): gradients known by hand.

    ``kernel`` (pixels x classes) sets W; a kernel without ``bias`` means no bias at all. ``model_class``
    builds a subclass of keras.Model (one with its own train_step, say).
    """
    import keras

    keras.utils.set_random_seed(seed)
    image = keras.Input(shape, name="image")
    x = keras.layers.Flatten(name="flatten")(image)
    use_bias = kernel is None or bias is not None
    out = keras.layers.Dense(classes, use_bias=use_bias, activation="softmax" if softmax else None, name="logits")(x)
    model = (model_class or keras.Model)(image, out)
    if kernel is not None:
        weights = [np.asarray(kernel, "float32").reshape(-1, classes)]
        model.get_layer("logits").set_weights(weights + ([np.asarray(bias, "float32")] if use_bias else []))
    return model


def vector_model(features: int = 4, outputs: int = 2, *, hidden: int | None = None, dropout: float | None = None,
                 seed: int = 0):
    """A model on plain vectors (no image): [hidden, [dropout]], out. For callbacks and backups."""
    import keras

    keras.utils.set_random_seed(seed)
    inputs = keras.Input((features,))
    x = keras.layers.Dense(hidden, name="hidden")(inputs) if hidden else inputs
    if dropout:
        x = keras.layers.Dropout(dropout, seed=seed, name="dropout")(x)
    return keras.Model(inputs, keras.layers.Dense(outputs, name="out")(x))


# ---------------------------------------------------------------------------------------- runs


def _history_rows(epochs: int) -> str:
    rows = ["epoch,accuracy,loss,val_accuracy,val_loss,epoch_seconds"]
    rows += [f"{e},{0.5 + e / 10},{1 - e / 10},{0.4 + e / 10},{1.1 - e / 10},2.0" for e in range(epochs)]
    return "\n".join(rows) + "\n"


def fake_run(root, keras_model=None, *, name: str = "run", dataset: str = "fashion_mnist", class_names=None,
             history: int = 0, backup: int = 0, metrics: dict | None = None, **config) -> Path:
    """A run directory as `zoo train` leaves one, at ``root/name``.

    ``keras_model`` is saved as model.keras (None: ``tiny_classifier()``; False: no model file, a run
    that never finished). config.json holds the model's name, ``dataset`` and, with a model, its
    class names and count; ``config`` adds keys or replaces those. ``history`` epochs go to
    history.csv (accuracy 0.5 + e/10, val_accuracy 0.4 + e/10 ...), ``backup`` leaves a resume backup
    at that epoch, ``metrics`` is written as metrics.json.
    """
    run = Path(root) / name
    run.mkdir(parents=True, exist_ok=True)
    written = {"dataset": dataset}
    if keras_model is not False:
        keras_model = keras_model if keras_model is not None else tiny_classifier()
        keras_model.save(run / "model.keras")
        classes = int(keras_model.outputs[0].shape[-1])
        names = list(class_names) if class_names is not None else (
            FASHION_CLASSES if classes == 10 else [str(i) for i in range(classes)])
        written = {"model": keras_model.name, **written, "class_names": names, "num_classes": classes}
    elif class_names is not None:
        written["class_names"] = list(class_names)
    (run / "config.json").write_text(json.dumps({**written, **config}))
    if history:
        (run / "history.csv").write_text(_history_rows(history))
    if backup:
        unit = run / "checkpoints" / "backup" / "000001"  # the layout of zoo/training/backup.py
        unit.mkdir(parents=True)
        (unit / "state.json").write_text(json.dumps({"epoch": backup, "final": False, "files": {}}))
    if metrics is not None:
        (run / "metrics.json").write_text(json.dumps(metrics))
    return run


# ----------------------------------------------------------------------------------------- CLI


def invoke(*args, app=None, **kwargs):
    """The click Result of `zoo ARGS...` run in-process (``app``: another Typer app); ``kwargs`` go to
    CliRunner.invoke (terminal_width, input, env)."""
    from typer.testing import CliRunner

    if app is None:
        from zoo.cli.main import app
    return CliRunner().invoke(app, [str(a) for a in args], **kwargs)


def cli(*args, **kwargs) -> tuple[int, str]:
    """(exit code, everything printed) of `zoo ARGS...`, run in-process."""
    result = invoke(*args, **kwargs)
    return result.exit_code, result.output


def cli_json(*args, **kwargs):
    """(exit code, the JSON a `--json` command printed last on stdout, or None, everything printed)."""
    result = invoke(*args, **kwargs)
    try:
        value = json.loads(result.stdout)
    except ValueError:
        lines = result.stdout.strip().splitlines()
        try:
            value = json.loads(lines[-1]) if lines else None
        except ValueError:
            value = None
    return result.exit_code, value, result.output


ZOO_MAIN = "from zoo.cli.main import main; main()"

# A prelude (run_zoo(prelude=...)) that makes the interpreter behave as if TensorFlow, TFDS and
# TensorBoard were not installed: importing them fails and importlib.util.find_spec says None.
WITHOUT_TENSORFLOW = """
import importlib.util as _util, sys as _sys
_HIDDEN = ("tensorflow", "tensorflow_datasets", "tf_keras", "tensorboard")
class _Hide:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in _HIDDEN:
            raise ModuleNotFoundError(f"No module named {name!r} (hidden by the test)", name=name)
_sys.meta_path.insert(0, _Hide())
_find_spec = _util.find_spec
_util.find_spec = lambda name, package=None: None if name.split(".")[0] in _HIDDEN else _find_spec(name, package)
"""


def zoo_env(fault: str | None = None, log=None, **extra) -> dict:
    """The environment of a zoo subprocess: no GPU, quiet TensorFlow, ``ZOO_FAULT_AT`` only when given
    (zoo.io.fault_point), ``ZOO_FAULT_LOG`` to list the points passed; ``extra`` on top."""
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "TF_CPP_MIN_LOG_LEVEL": "2"}
    env.pop("ZOO_FAULT_AT", None)
    if fault is not None:
        env["ZOO_FAULT_AT"] = fault
    if log is not None:
        env["ZOO_FAULT_LOG"] = str(log)
    return {**env, **extra}


def run_zoo(*args, fault: str | None = None, log=None, timeout: float = 600, env: dict | None = None,
            prelude: str = "", **kwargs):
    """`zoo ARGS...` in a fresh interpreter, waited for: a CompletedProcess with text stdout and stderr.
    ``prelude`` is Python run first in that interpreter (a patch); ``kwargs`` go to subprocess.run (cwd)."""
    return subprocess.run([sys.executable, "-c", prelude + ZOO_MAIN, *map(str, args)], capture_output=True,
                          text=True, env=zoo_env(fault, log, **(env or {})), timeout=timeout, **kwargs)


def start_zoo(*args, fault: str | None = None, env: dict | None = None, **kwargs) -> subprocess.Popen:
    """`zoo ARGS...` started in a fresh interpreter (text pipes), not waited for."""
    return subprocess.Popen([sys.executable, "-c", ZOO_MAIN, *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=zoo_env(fault, **(env or {})), **kwargs)


def run_python(code: str, *args, **kwargs):
    """``python -c CODE ARGS...`` with this interpreter: a CompletedProcess with text output."""
    return subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True, **kwargs)


# ---------------------------------------------------------------------------------- registries


def lightest_shipped(n: int = 2) -> list[str]:
    """The ``n`` shipped models with the fewest weights (quickest to load), lightest first."""
    from zoo.catalog import load_catalog
    from zoo.registry import load_weights_manifest

    catalog = load_catalog()
    return sorted((name for name in load_weights_manifest() if name in catalog),  # not variants (resnet20.seed1)
                  key=lambda name: catalog[name]["trainable_params"])[:n]


def resolved_config(model: str = "simplenet", **options):
    """The TrainConfig of `zoo train MODEL` with ``options``, resolved as the trainer resolves it."""
    from zoo.training.config import TrainConfig, resolve

    return resolve(TrainConfig(model=model, **options))


_REGISTRIES = {"model": ("zoo.registry", "MODELS"), "attack": ("zoo.attack.registry", "ATTACKS"),
               "explain": ("zoo.explain.registry", "EXPLAIN_METHODS"), "source": ("zoo.data.sources", "SOURCES")}


def registry_of(registry: str):
    """The ``zoo.records.Registry`` named "model" (ModelSpec), "attack", "explain" (methods) or "source"."""
    import importlib

    if registry not in _REGISTRIES:
        raise ValueError(f"no registry {registry!r}: {', '.join(_REGISTRIES)}")
    module, name = _REGISTRIES[registry]
    return getattr(importlib.import_module(module), name)


def records(registry: str) -> list:
    """The records of ``registry`` ("model", "attack", "explain" or "source"), in listing order."""
    return list(registry_of(registry))


def add_record(monkeypatch, registry: str, record):
    """Register ``record`` in ``registry`` for one test, as a contributor's new file would; undone after it."""
    holder = registry_of(registry)
    holder.records()  # every real record registered first, so the copy below holds them all
    monkeypatch.setattr(holder, "_records", dict(holder._records))
    return holder.register(record)


def record_id(record) -> str:
    return getattr(record, "name", None) or record.usage


def each(registry: str, argname: str | None = None):
    """``@each("attack")``: parametrize the test's ``attack`` argument over every record, ids = names."""
    return pytest.mark.parametrize(argname or registry, records(registry), ids=record_id)


def _normal(name: str) -> str:
    return str(name).strip().lower().replace("-", "_")


def registry_names() -> dict[str, set[str]]:
    """Every name each registry answers to, aliases and source prefixes included (lower case, "-" as "_")."""
    names = {
        "model": {r.name for r in records("model")},
        "attack": {r.name for r in records("attack")},
        "explain": {n for r in records("explain") for n in (r.name, *r.aliases)},
        "source": {n for r in records("source")
                   for n in (r.usage, getattr(r, "name", r.usage), r.prefix or r.usage, *(r.names or {}))},
    }
    return {registry: {_normal(n) for n in found} for registry, found in names.items()}


def run_model_test(spec, input_shape=None, num_classes: int | None = None):
    """What every registered model promises: complete metadata, and a graph (weights not allocated)
    with the zoo's layers where others look: rescale and standardize first, last_conv 4-D with no
    conv after it, logits without an activation, one output per class."""
    import keras

    from zoo.flops import weightless_model
    from zoo.models.common import LOGITS

    assert spec.paper and spec.family and spec.last_conv, spec.name
    assert spec.input_shape[2] in (1, 3) and spec.num_classes >= 2
    assert spec.description, f"{spec.name} builder needs a docstring"
    model = weightless_model(spec.name, input_shape=input_shape, num_classes=num_classes)
    assert tuple(model.outputs[0].shape) == (None, num_classes or spec.num_classes)
    assert [layer.name for layer in model.layers[1:3]] == ["rescale", "standardize"]
    assert model.get_layer(LOGITS).activation.__name__ == "linear"
    names = [layer.name for layer in model.layers]
    assert len(model.get_layer(spec.last_conv).output.shape) == 4
    after = model.layers[names.index(spec.last_conv) + 1:]
    assert not any(isinstance(layer, keras.layers.Conv2D) for layer in after), spec.last_conv


def run_attack_test(attack):
    """What every attack record promises: its algorithm and figure style, a place in the strength
    order, settings inside the budget, and examples in the eps-ball and in [0, 255]."""
    from zoo.attack import methods
    from zoo.attack.registry import ATTACKS, resolve_settings, strongest, training_methods
    from zoo.training.config import ADVERSARIAL

    name = attack.name
    assert callable(attack.craft) and attack.title and attack.summary and len(attack.style) == 2
    assert (name in training_methods()) == (attack.train_steps is not None) == (name in ADVERSARIAL)
    weaker = [a.name for a in ATTACKS if a.strength < attack.strength]
    assert all(strongest([m, name]) == name for m in weaker)
    s = resolve_settings(name, 8)
    assert s.method == name and s.eps == 8.0 and s.steps >= 1 and 0 < s.step_size <= 2 * 8.0
    assert attack.single_step == (s.steps == 1)
    x = pixels(4, (4, 4, 1), seed=1, whole=True)
    adv = methods.attack(linear_classifier(), x, np.array([0, 1, 0, 1]), name, 8, steps=3)
    assert adv.shape == x.shape and np.abs(adv - x).max() <= 8 + 1e-4 and 0 <= adv.min() and adv.max() <= 255
    assert np.abs(adv - x).max() > 0, f"{name} moved no pixel of a linear model"


def run_explain_method_test(method):
    """What every explain record promises: reachable by its name and aliases, settings whose defaults
    pass their own checks, and maps of every image at its input size (finite, >= 0, not all zero)
    that do not depend on the batch size."""
    from zoo.explain import Explainer
    from zoo.explain.registry import resolve_methods

    name = method.name
    assert callable(method.compute) and method.title and method.summary
    assert resolve_methods(name) == [name] and all(resolve_methods(alias) == [name] for alias in method.aliases)
    for setting in method.settings:
        if setting.check is not None and setting.default is not None:
            assert setting.check(setting.default) == setting.default, (name, setting.name)
    model = tiny_classifier((8, 8, 1), 3, convs=((4, 1),), padding="same", activation="tanh", pool=True,
                            rescale=False)
    images = pixels(3, (8, 8, 1))
    maps = [Explainer(model, batch_size=size, samples=3, steps=4, layer="conv1").explain(name, images, [0, 1, 2])
            for size in (2, 64)]
    ex = maps[0]
    assert ex.method == name and ex.heatmaps.shape == (3, 8, 8)
    assert np.isfinite(ex.heatmaps).all() and (ex.heatmaps >= 0).all() and ex.heatmaps.max() > 0
    np.testing.assert_allclose(ex.heatmaps, maps[1].heatmaps, rtol=1e-5, atol=1e-7 * float(ex.heatmaps.max()))


def run_source_test(source):
    """What every data source promises: its usage names it, every spec it claims resolves to it, a
    prefix without its argument is refused naming the usage, and `zoo datasets` shows how to write it."""
    from zoo.data.sources import available_datasets, resolve_spec
    from zoo.errors import InvalidArgumentError

    assert source.usage and callable(source.load)
    assert source.prefix or source.names, f"{source.usage}: neither a prefix nor names"
    if source.prefix:
        assert source.usage.startswith(source.prefix + ":")
        assert resolve_spec(f"{source.prefix}:some_arg") == (source, "some_arg")
        assert resolve_spec(f"{source.prefix.upper()}:some_arg")[0] is source
        with pytest.raises(InvalidArgumentError, match=source.usage):
            resolve_spec(f"{source.prefix}:")
    for name, arg in (source.names or {}).items():
        assert resolve_spec(name) == (source, arg) and resolve_spec(name.upper())[0] is source
    listed = [row["name"] for row in available_datasets()]
    if source.template:
        assert source.template["name"] == source.usage and source.usage in listed
    assert source.download is None or callable(source.download)

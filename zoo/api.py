"""The Python API: one call per lab step, the same library functions the CLI calls.

Every name here is reachable as ``zoo.NAME`` (``import zoo`` stays cheap: this module and
TensorFlow load on first use). Images are always raw pixels in [0, 255], (N, H, W, C); labels are
class indices; models are plain ``keras.Model`` objects that output logits. A model argument may
be a ``keras.Model``, a run directory, a ``.keras`` file or a shipped name such as ``"simplenet"``.

    import zoo
    x, y, names = zoo.load_data("fashion_mnist", "test", n=256)
    model = zoo.create_model("simplenet", pretrained=True)
    zoo.evaluate(model, x, y)["accuracy"]
"""

from __future__ import annotations

import json
import os
import weakref
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from zoo.errors import InvalidArgumentError, ModelFileError, ZooError

INFO_ENTRY = "zoo.json"  # the zoo's metadata inside a .keras file (a zip; plain Keras ignores the entry)
PIXEL_RANGE = (0.0, 255.0)

__all__ = [
    "Data", "ModelInfo", "FitResult", "Predictions", "Saliency", "AttackResult",
    "load_data", "create_model", "load_model", "save_model", "model_info", "train", "evaluate", "predict",
    "explain", "attack", "ensemble", "export",
]


# ---------------------------------------------------------------------------------------------- data


class Data(NamedTuple):
    """Images (N, H, W, C) float32 pixels in [0, 255], labels (N,) int64, and the class names."""

    x: Any
    y: Any
    class_names: list


def load_data(name: str = "fashion_mnist", split: str = "test", n: int | None = None, *, data_dir=None,
              seed: int = 0, download: bool = False, input_shape=None) -> Data:
    """A dataset split as arrays: ``(x, y, class_names)``; ``n`` caps the number of images.

    ``name`` is any dataset spec ``zoo datasets`` lists (``fashion_mnist``, ``mnist``,
    ``tfds:cifar10``, ``folder:PATH``, ``npz:PATH`` ...); ``split`` is train, val or test (val is
    the seeded 10% of train the trainer holds out). ``input_shape`` resizes / converts channels.

    >>> import zoo
    >>> x, y, names = zoo.load_data("fashion_mnist", "test", n=8)
    >>> x.shape, x.dtype, int(x.max()) <= 255, names[0]
    ((8, 28, 28, 1), dtype('float32'), True, 'T-shirt/top')
    """
    from zoo import checks
    from zoo.data import load_dataset, load_examples

    if n is not None:
        n = checks.positive_int(n, "n")
    data = load_dataset(name, data_dir=data_dir, download=download, seed=seed, limit=n)
    size = n or data.sizes.get(split) or sum(1 for _ in data.split(split))
    x, y, class_names = load_examples(data, split=split, n=size, input_shape=input_shape)
    return Data(x, y, list(class_names))


def _arrays(x, y=None, *, what: str = "x"):
    """(images float32 N,H,W,C, labels int64 or None), checked, with a message naming the argument."""
    import numpy as np

    try:
        images = np.asarray(x, dtype="float32")
    except (TypeError, ValueError):
        raise InvalidArgumentError(f"{what} must be an array of images (N, H, W, C); got {type(x).__name__}.") from None
    if images.ndim == 3:  # (N, H, W) grey images
        images = images[..., None]
    if images.ndim != 4:
        raise InvalidArgumentError(f"{what} must be images of shape (N, H, W, C); got shape {images.shape}.")
    if y is None:
        return images, None
    labels = np.asarray(y)
    if labels.ndim == 2:  # one-hot
        labels = labels.argmax(-1)
    if labels.dtype.kind not in "iu" and not (labels.dtype.kind == "f" and np.all(labels == np.round(labels))):
        raise InvalidArgumentError(f"y must hold class indices (integers); got {labels.dtype} values.")
    labels = labels.astype("int64").reshape(-1)
    if len(labels) != len(images):
        raise InvalidArgumentError(f"{len(images)} images but {len(labels)} labels.")
    return images, labels


# ---------------------------------------------------------------------------------------------- metadata


@dataclass
class ModelInfo:
    """What a model expects and what it learned from: one record, whichever way the model came.

    ``pixel_range`` (0, 255): feed raw pixels, the model scales them itself (None: unknown, a model
    the zoo did not make). ``gradcam_layer``: the layer Grad-CAM weighs, the same in ``zoo explain``
    and ``zoo.explain``.
    """

    architecture: str | None  # the registry name (lenet5, simplenet ...), None for other models
    class_names: list
    num_classes: int
    input_shape: tuple
    pixel_range: tuple | None
    dataset: str | None = None
    recipe: str | None = None
    gradcam_layer: str | None = None
    source: str | None = None  # where it was loaded from (a run, a file, a shipped name), or how it was made
    extra: dict = field(default_factory=dict)  # e.g. fine-tuned from, frozen

    def to_dict(self) -> dict:
        d = asdict(self)
        d["input_shape"] = list(self.input_shape)
        d["pixel_range"] = list(self.pixel_range) if self.pixel_range else None
        return d


_INFO: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()  # in-memory models -> their metadata dict


def _is_model(value) -> bool:
    from zoo.export import is_model

    return is_model(value)


def _architecture(model) -> str | None:
    from zoo.registry import MODELS

    names = set(MODELS.names())
    for candidate in (model.name, model.name.removesuffix("_transfer"), model.name.removesuffix("_logits")):
        if candidate in names:
            return candidate
    return None


def _read_entry(path) -> dict:
    """The zoo.json entry of a .keras file saved by ``zoo.save_model``, or {}."""
    try:
        with zipfile.ZipFile(path) as z:
            if INFO_ENTRY in z.namelist():
                return json.loads(z.read(INFO_ENTRY))
    except (OSError, zipfile.BadZipFile, ValueError):
        pass
    return {}


def _stored_info(source) -> dict:
    """Metadata of a run directory, .keras file or shipped name (or its opened ``Run``): zoo.json in the
    file, else the run's config.json, else the shipped manifest (``Run.config`` is either)."""
    from zoo.run import Run

    run = Run.open(source)
    stored = _read_entry(run.model_file)
    if stored:
        return stored
    cfg = run.config
    keep = ("model", "dataset", "class_names", "recipe", "transfer_from", "transfer")
    return {("architecture" if k == "model" else k): cfg[k] for k in keep if cfg.get(k) is not None}


def model_info(model) -> ModelInfo:
    """The metadata of a model: class names, expected pixel range, dataset, recipe, Grad-CAM layer.

    ``model``: a ``keras.Model`` (one made or loaded by zoo remembers where it came from), a run
    directory, a ``.keras`` file or a shipped name. Files saved with ``zoo.save_model`` carry it
    inside the ``.keras`` file (an extra ``zoo.json`` entry that plain Keras ignores); a training run
    keeps it in its ``config.json``, a shipped model in ``weights/manifest.json``.

    >>> import zoo
    >>> info = zoo.model_info("simplenet")
    >>> info.class_names[:2], info.pixel_range, info.gradcam_layer, info.dataset
    (['T-shirt/top', 'Trouser'], (0.0, 255.0), 'conv2', 'fashion_mnist')
    """
    if _is_model(model):
        stored = dict(_INFO.get(model, {}))
        keras_model = model
    else:
        stored = _stored_info(model)
        stored.setdefault("source", str(model))
        keras_model = load_model(model)
    return _info_for(keras_model, stored)


def _info_for(model, stored: dict) -> ModelInfo:
    from zoo.explain.gradcam import default_layer
    from zoo.inputs import handles_its_own_scaling
    from zoo.registry import MODELS

    k = int(model.outputs[0].shape[-1])
    names = stored.get("class_names")
    names = list(names) if names and len(names) == k else [str(i) for i in range(k)]
    arch = stored.get("architecture") or _architecture(model)
    last_conv = None
    if arch:
        try:
            last_conv = MODELS.get(arch).last_conv
        except ZooError:
            pass
    try:
        layer = default_layer(model, last_conv)
    except ZooError:
        layer = None
    known = {"architecture", "class_names", "num_classes", "input_shape", "pixel_range", "dataset", "recipe",
             "gradcam_layer", "source", "extra"}
    extra = {**stored.get("extra", {}), **{key: v for key, v in stored.items() if key not in known}}
    return ModelInfo(
        architecture=arch, class_names=names, num_classes=k,
        input_shape=tuple(int(d) for d in model.inputs[0].shape[1:]),
        pixel_range=PIXEL_RANGE if handles_its_own_scaling(model) else None,
        dataset=stored.get("dataset"), recipe=stored.get("recipe"), gradcam_layer=layer,
        source=stored.get("source"), extra=extra)


def _remember(model, **info):
    _INFO[model] = {k: v for k, v in info.items() if v is not None}
    return model


# ---------------------------------------------------------------------------------------------- models


def create_model(name: str, pretrained: bool = False, num_classes: int | None = None, *, freeze: bool = False,
                 input_shape=None, class_names=None, **overrides):
    """A ``keras.Model`` from the registry: fresh, pretrained, or pretrained with a new head.

    * ``create_model("resnet20", input_shape=(32, 32, 3), num_classes=10)``: fresh weights;
    * ``create_model("simplenet", pretrained=True)``: the shipped trained model (sha256 checked);
    * ``create_model("simplenet", pretrained=True, num_classes=3)``: an independent copy of the
      trained model (its own layers: training it never changes the shipped one) with a new
      ``Dense(3)`` head; ``freeze=True`` freezes everything but the head (feature extraction);
      ``input_shape`` differing from the shipped one puts a resize/channel layer in front.

    Every model outputs logits and takes raw pixels in [0, 255]; ``zoo.model_info(model)`` says
    its class names (``class_names=`` names a new head's classes).

    >>> import zoo
    >>> base = zoo.create_model("simplenet", pretrained=True)
    >>> new = zoo.create_model("simplenet", pretrained=True, num_classes=3, freeze=True)
    >>> new.output.shape[-1], new.get_layer("logits").trainable, new.get_layer("conv1").trainable
    (3, True, False)
    """
    if not pretrained:
        from zoo.registry import create_model as build

        if freeze:
            raise InvalidArgumentError("freeze=True freezes a pretrained model's layers; a fresh model has nothing "
                                       "learned to keep. Pass pretrained=True, or drop freeze.")
        model = build(name, input_shape=input_shape, num_classes=num_classes, **overrides)
        return _remember(model, architecture=name, class_names=class_names, source=f"create_model({name!r})")
    if overrides:
        raise InvalidArgumentError(
            f"pretrained=True loads the shipped {name} as trained; it takes no {', '.join(sorted(overrides))}.")
    from zoo.run import load_pretrained, read_run_config

    base = load_pretrained(name)
    cfg = read_run_config(name)
    same_shape = input_shape is None or tuple(input_shape) == tuple(cfg.get("input_shape") or ())
    if (num_classes is None or num_classes == cfg.get("num_classes")) and same_shape and not freeze:
        return _remember(base, architecture=cfg.get("model", name), class_names=cfg.get("class_names"),
                         dataset=cfg.get("dataset"), recipe=cfg.get("recipe"), source=name)
    from zoo.surgery import head_layer, replace_head, set_trainable

    keep_head = num_classes is None or num_classes == cfg.get("num_classes")
    model = replace_head(base, int(cfg["num_classes"]) if keep_head else num_classes, input_shape=input_shape, seed=0)
    if keep_head:  # only the input or the freezing changes: the trained head stays
        model.get_layer("logits").set_weights(head_layer(base).get_weights())
    if freeze:
        set_trainable(model, "feature-extract")
    return _remember(model, architecture=cfg.get("model", name),
                     class_names=cfg.get("class_names") if keep_head else class_names,
                     dataset=cfg.get("dataset") if keep_head else None, source=f"{name} (a copy)" if keep_head
                     else f"{name} with a new head", fine_tuned_from=name, frozen=bool(freeze))


def load_model(path):
    """A ``keras.Model`` from a run directory, a ``.keras`` file or a shipped name (not compiled).

    >>> import zoo
    >>> model = zoo.load_model("lenet5")       # or "runs/lenet5-fashion_mnist", "model.keras"
    >>> zoo.model_info(model).architecture
    'lenet5'
    """
    if _is_model(path):
        return path
    from zoo.run import Run

    run = Run.open(path)
    model = run.load_model()
    info = _stored_info(run)
    return _remember(model, **info, source=str(path))


def save_model(model, path, *, overwrite: bool = True) -> Path:
    """Save ``model`` as a ``.keras`` file that plain Keras loads, with zoo's metadata inside it.

    ``keras.saving.load_model(path)`` loads it without zoo; ``zoo.model_info(path)`` reads its
    class names, pixel range, dataset and Grad-CAM layer back. The folder is created if needed.

    >>> import zoo, keras
    >>> path = zoo.save_model(zoo.create_model("lenet5", pretrained=True), "/tmp/lenet5.keras")
    >>> keras.saving.load_model(path).name, zoo.model_info(path).class_names[0]
    ('lenet5', 'T-shirt/top')
    """
    import keras

    from zoo.io import atomic_path

    path = Path(path)
    if path.suffix != ".keras":
        raise InvalidArgumentError(f"save_model writes a .keras file; got {path}.")
    if path.exists() and not overwrite:
        raise InvalidArgumentError(f"{path} already exists; pass overwrite=True to replace it.")
    path.parent.mkdir(parents=True, exist_ok=True)
    info = model_info(model).to_dict()
    info.pop("source", None)
    with atomic_path(path) as tmp:
        tmp = Path(tmp)
        keras_tmp = tmp.with_name(tmp.name + ".keras")
        keras.saving.save_model(model, keras_tmp)
        with zipfile.ZipFile(keras_tmp, "a") as z:
            z.writestr(INFO_ENTRY, json.dumps(info, indent=1))
        os.replace(keras_tmp, tmp)
    _remember(model, **{**_INFO.get(model, {}), "source": str(path)})
    return path


def _model(model):
    """(keras.Model, its ModelInfo) from any model argument."""
    from zoo.backend import name

    if name() == "tensorflow":  # each model's compiled functions trace once; TF's retracing notice is noise
        import tensorflow as tf

        tf.get_logger().setLevel("ERROR")
    m = load_model(model)
    return m, model_info(m)


# ---------------------------------------------------------------------------------------------- training


@dataclass
class FitResult:
    """What ``zoo.train`` returns for an in-memory model: the model, per-epoch history, final metrics."""

    model: Any
    history: list
    metrics: dict
    run_dir: Path | None = None


def _console():
    from rich.console import Console

    return Console()


def _data_arg(data, *, split: str = "train"):
    """``data`` given as (x, y[, class_names]) arrays -> Data; as a dataset spec -> Data of ``split``."""
    if data is None:
        return None
    if isinstance(data, (str, os.PathLike)):
        return load_data(str(data), split)
    if isinstance(data, tuple) and len(data) in (2, 3):
        x, y = _arrays(data[0], data[1])
        names = list(data[2]) if len(data) == 3 and data[2] is not None else None
        return Data(x, y, names)
    raise InvalidArgumentError("data must be a dataset name (e.g. 'fashion_mnist') or arrays (x, y) or "
                               f"(x, y, class_names); got {type(data).__name__}.")


def _arrays_dataset(data: Data) -> str:
    """Arrays as an ``npz:`` dataset the trainer (and every later command) can read again by name.

    Stored once per content under ``$XDG_CACHE_HOME/zoo/arrays`` (``~/.cache``), named by its hash.
    """
    import hashlib

    import numpy as np

    x = np.clip(np.round(data.x), 0, 255).astype("uint8")
    y = np.asarray(data.y, dtype="int64")
    digest = hashlib.sha256(x.tobytes() + y.tobytes() + repr(x.shape).encode()
                            + json.dumps(data.class_names).encode()).hexdigest()[:16]
    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "zoo" / "arrays"
    path = root / f"{digest}.npz"
    if not path.is_file():
        from zoo.io import atomic_path

        extra = {"class_names": np.asarray(data.class_names)} if data.class_names else {}
        with atomic_path(path) as tmp:
            np.savez(tmp, x=x, y=y, **extra)
    return f"npz:{path}"


def train(model, data=None, *, epochs: int | None = None, out=None, overwrite: bool = False, resume: bool = False,
          progress: bool = True, validation_data=None, batch_size: int | None = None, lr: float | None = None,
          **options):
    """Train a registry model into a run directory, or an in-memory ``keras.Model`` on arrays.

    * ``train("lenet5", "fashion_mnist", epochs=2, out="runs/lab", overwrite=True)`` runs the same
      trainer as ``zoo train`` (every option of ``zoo.training.TrainConfig`` as a keyword:
      ``optimizer="sgd"``, ``schedule="cosine"``, ``augment="light"``, ``limit=512``, ``recipe=...``)
      and returns its ``TrainResult`` (``.model``, ``.history``, ``.metrics``, ``.run_dir``).
      ``data`` may also be arrays ``(x, y)`` or ``(x, y, class_names)``. An ``out`` that already
      holds a run is refused unless ``overwrite=True`` (train again: re-running a notebook cell) or
      ``resume=True`` (continue it).
    * ``train(model, (x, y), epochs=2)`` fine-tunes a ``keras.Model`` in memory (Adam, ``lr``
      1e-3, cross-entropy from logits; frozen layers stay frozen) and returns a ``FitResult``;
      ``validation_data=(xv, yv)``; ``out="ft.keras"`` saves it with ``zoo.save_model``.

    Progress prints one line per epoch (in a notebook too); ``progress=False`` keeps quiet.

    >>> import zoo
    >>> result = zoo.train("lenet5", "fashion_mnist", epochs=1, limit=512, out="/tmp/lab-run", overwrite=True)
    >>> sorted(result.metrics)[:2], len(result.history)
    (['accuracy', 'class_names'], 1)
    """
    if _is_model(model):
        return _fit(model, data, epochs=epochs, out=out, overwrite=overwrite, progress=progress,
                    validation_data=validation_data, batch_size=batch_size, lr=lr, **options)
    if not isinstance(model, str):
        raise InvalidArgumentError(f"model must be a registry name (e.g. 'lenet5') or a keras.Model; "
                                   f"got {type(model).__name__}.")
    if validation_data is not None:
        raise InvalidArgumentError("validation_data is for an in-memory model; a registry model holds out "
                                   "val_split (default 0.1) of its training data.")
    from zoo.training.config import TrainConfig, default_out
    from zoo.training.trainer import train as run_trainer

    dataset = "fashion_mnist"
    arrays = None
    if data is not None:
        if isinstance(data, (str, os.PathLike)):
            dataset = str(data)
        else:
            arrays = _data_arg(data)
            dataset = _arrays_dataset(arrays)
    given = {k: v for k, v in {"epochs": epochs, "batch_size": batch_size, "lr": lr}.items() if v is not None}
    if out is None:
        out = default_out(model, "arrays" if arrays is not None else dataset)
    recipe = options.pop("recipe", None)
    try:
        if recipe:
            from zoo.training.config import recipe_config

            config = recipe_config(model, recipe, dataset=dataset, out=str(out), **given, **options)
        else:
            config = TrainConfig(model=model, dataset=dataset, out=str(out), **given, **options)
    except TypeError as exc:
        from zoo.training.config import defaults

        raise InvalidArgumentError(f"{exc}. train() takes the options of TrainConfig: "
                                   f"{', '.join(sorted(defaults()))}.") from None
    from zoo.progress import SILENT, ConsoleProgress

    shown = ConsoleProgress(_console(), dim=False) if progress else SILENT
    try:
        result = run_trainer(config, resume=resume, overwrite=overwrite, progress=shown)
    except ZooError as exc:  # the trainer names CLI flags; a notebook user passes keywords
        raise type(exc)(_python_words(str(exc))) from None
    if result.model is None:  # a finished run left as it was (resume=True): load what it trained
        from zoo.run import load_model as load

        result.model = load(result.run_dir)
    _remember(result.model, **_stored_info(result.run_dir), source=str(result.run_dir))
    return result


def _python_words(message: str) -> str:
    for flag, keyword in (("--overwrite", "overwrite=True"), ("--resume", "resume=True"), ("--out DIR", "out=..."),
                          ("--out", "out"), ("--epochs", "epochs"), ("--val-split", "val_split"),
                          ("--batch-size", "batch_size")):
        message = message.replace(flag, keyword)
    return message


def _fit(model, data, *, epochs=None, out=None, overwrite=False, progress=True, validation_data=None, batch_size=None,
         lr=None, **options):
    import keras
    import numpy as np

    from zoo.inputs import check_pixel_range, expects_pixels

    if options:
        raise InvalidArgumentError(f"An in-memory model trains with epochs, batch_size, lr and validation_data; "
                                   f"got also {', '.join(sorted(options))} (zoo.train('NAME', ...) takes those).")
    if data is None:
        raise InvalidArgumentError("train(model, data) needs data: arrays (x, y) or a dataset name.")
    d = _data_arg(data)
    if expects_pixels(model):
        check_pixel_range(d.x, f"model {model.name!r}")
    k = int(model.outputs[0].shape[-1])
    if len(d.y) and (d.y.min() < 0 or d.y.max() >= k):
        raise InvalidArgumentError(f"y must be class indices in [0, {k - 1}] for this {k}-class model; "
                                   f"got {d.y.min()}..{d.y.max()}.")
    val = None
    if validation_data is not None:
        v = _data_arg(validation_data, split="val")
        val = (v.x, v.y)
    model.compile(optimizer=keras.optimizers.Adam(lr or 1e-3),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    callbacks = []
    if progress:
        from zoo.training.callbacks import RichProgress

        steps = int(np.ceil(len(d.x) / (batch_size or 64)))
        callbacks.append(RichProgress(_console(), int(epochs or 1), steps, live=False))
    hist = model.fit(d.x, d.y, epochs=int(epochs or 1), batch_size=batch_size or 64, validation_data=val,
                     verbose=0, callbacks=callbacks)
    rows = [{"epoch": i, **{key: float(vals[i]) for key, vals in hist.history.items()}}
            for i in range(len(next(iter(hist.history.values()), [])))]
    metrics = {key: v for key, v in rows[-1].items() if key != "epoch"} if rows else {}
    if d.class_names and len(d.class_names) == k:
        _remember(model, **{**_INFO.get(model, {}), "class_names": list(d.class_names)})
    if out is not None:
        save_model(model, out, overwrite=overwrite)
    return FitResult(model, rows, metrics, None)


# ---------------------------------------------------------------------------------------------- using a model


def _check_images(model, info: ModelInfo, x, source=None):
    from zoo.inputs import check_pixel_range, expects_pixels

    images, _ = _arrays(x)
    if tuple(images.shape[1:]) != tuple(info.input_shape):
        raise InvalidArgumentError(f"The model takes images of shape (N, {', '.join(map(str, info.input_shape))}); "
                                   f"got {images.shape}. zoo.load_data(..., input_shape=...) converts a dataset.")
    if expects_pixels(model):
        check_pixel_range(images, source or f"model {info.architecture or model.name!r}")
    return images


def evaluate(model, x=None, y=None, *, data=None, split: str = "test", n: int | None = None, tta: str = "none",
             batch_size: int = 256) -> dict:
    """Accuracy, top-5, per-class accuracy and the confusion matrix (a dict, as ``zoo eval --json``).

    On arrays ``evaluate(model, x, y)``, or on a dataset ``evaluate(model, data="fashion_mnist",
    n=1000)`` (a run's own data when ``data`` is None and no arrays are given). ``tta`` ("flip",
    "flip+shift") averages the logits over test-time views; the single-view accuracy stays beside it.

    >>> import zoo
    >>> x, y, _ = zoo.load_data("fashion_mnist", "test", n=64)
    >>> round(zoo.evaluate("simplenet", x, y)["accuracy"], 2) > 0.8
    True
    """
    import numpy as np

    from zoo.evaluation import classification_metrics, evaluate_path, tta_logits_and_labels
    from zoo.tta import check_tta

    tta = check_tta(tta)
    if x is None:
        if y is not None:
            raise InvalidArgumentError("y without x: pass evaluate(model, x, y), or data=NAME for a dataset.")
        if _is_model(model):
            x, y, _ = load_data(data or model_info(model).dataset or "fashion_mnist", split, n)
        else:
            return evaluate_path(model, dataset=data, split=split, limit=n, tta=tta, batch_size=batch_size)
    if y is None:
        raise InvalidArgumentError("evaluate(model, x, y) needs the labels y (class indices).")
    m, info = _model(model)
    images = _check_images(m, info, x)
    _, labels = _arrays(images, y)
    from zoo import checks

    batch_size = checks.positive_int(batch_size, "batch_size")
    batches = [(images[i:i + batch_size], labels[i:i + batch_size]) for i in range(0, len(labels), batch_size)]
    logits, single, _ = tta_logits_and_labels(m, batches, tta)  # one pass: the image as it is is the first view
    report = {"tta": tta, **classification_metrics(labels, logits, info.class_names)}
    if tta != "none":
        report["single_view_accuracy"] = float(np.mean(single.argmax(1) == labels)) if len(labels) else float("nan")
    return report


@dataclass
class Predictions:
    """``probs`` (N, K), ``classes`` (N,) indices, ``names`` (N,) class names, ``top`` [(name, p), ...] per image."""

    probs: Any
    classes: Any
    names: list
    top: list
    class_names: list


def predict(model, x, *, top: int = 5, tta: str = "none", batch_size: int = 256) -> Predictions:
    """Class probabilities of images (N, H, W, C) in [0, 255], with the top classes by name.

    >>> import zoo
    >>> x, y, _ = zoo.load_data("fashion_mnist", "test", n=4)
    >>> p = zoo.predict("simplenet", x, top=2)
    >>> p.names[0], p.top[0][0][0] == p.names[0]
    ('Ankle boot', True)
    """
    import numpy as np

    from zoo import checks
    from zoo.ensemble import softmax
    from zoo.evaluation import predict_logits

    top = checks.positive_int(top, "top")
    m, info = _model(model)
    images = _check_images(m, info, x)
    probs = softmax(predict_logits(m, images, batch_size=batch_size, tta=tta).astype("float64"))
    classes = probs.argmax(1)
    order = np.argsort(-probs, axis=1)[:, :min(top, probs.shape[1])]
    best = [[(info.class_names[j], float(probs[i, j])) for j in order[i]] for i in range(len(probs))]
    return Predictions(probs, classes, [info.class_names[c] for c in classes], best, info.class_names)


@dataclass
class Saliency:
    """Maps of one method: ``heatmaps`` (N, H, W) >= 0, ``attributions`` (N, H, W, C) or None, with the
    images, the explained ``targets``, the model's ``predicted`` classes and the class names."""

    method: str
    heatmaps: Any
    attributions: Any
    images: Any
    targets: Any
    predicted: Any
    confidence: Any  # (N,) the softmax probability of the predicted class
    labels: Any
    class_names: list
    info: dict


def _targets(targets, predicted, labels, class_names):
    import numpy as np

    from zoo.explain import resolve_targets

    if targets is None or isinstance(targets, (str, int, np.integer)):
        return resolve_targets(targets, predicted, labels, class_names)
    values = list(targets)
    if len(values) != len(predicted):
        raise InvalidArgumentError(f"targets has {len(values)} entries for {len(predicted)} images; pass one per image, "
                                   "or one for all ('predicted', 'true', a class name or index).")
    return np.asarray([resolve_targets(v, predicted[i:i + 1], None if labels is None else labels[i:i + 1],
                                       class_names)[0] for i, v in enumerate(values)], dtype="int64")


def explain(model, x, method: str = "gradcam", *, targets="predicted", y=None, seed: int = 0, batch_size: int = 64,
            **settings) -> Saliency:
    """Saliency maps of one method for images (N, H, W, C) in [0, 255]: the same maps ``zoo explain`` writes.

    ``method``: gradient, smoothgrad, integrated-gradients, gradcam (``zoo explain --help`` lists
    all). ``targets``: "predicted" (default), "true" (needs ``y``), a class name or index for every
    image, or one entry per image. ``settings`` are the method's own (``samples``, ``noise``,
    ``steps``, ``layer`` ...). Grad-CAM weighs ``zoo.model_info(model).gradcam_layer``.

    >>> import zoo
    >>> x, y, _ = zoo.load_data("fashion_mnist", "test", n=4)
    >>> maps = zoo.explain("simplenet", x, "gradcam", targets="true", y=y)
    >>> maps.heatmaps.shape
    (4, 28, 28)
    """
    import numpy as np

    from zoo.ensemble import softmax
    from zoo.explain import Explainer, resolve_methods

    names = resolve_methods(method)
    if len(names) != 1:
        raise InvalidArgumentError(f"explain() draws one method; got {method!r}. Call it once per method "
                                   f"({', '.join(names)}).")
    m, info = _model(model)
    images = _check_images(m, info, x)
    labels = None if y is None else _arrays(images, y)[1]
    explainer = Explainer(m, batch_size=batch_size, registry_last_conv=info.gradcam_layer, seed=seed, **settings)
    probs = softmax(explainer.engine.logits(images).astype("float64"))
    predicted = probs.argmax(1)
    chosen = _targets(targets, predicted, labels, info.class_names)
    ex = explainer.explain(names[0], images, chosen)
    return Saliency(ex.method, ex.heatmaps, ex.attributions, images, chosen, predicted, probs.max(1), labels,
                    list(info.class_names), dict(ex.info))


@dataclass
class AttackResult:
    """``adversarial`` images (at the largest eps), their ``predictions``, ``robust_accuracy`` (the
    fraction still right) and ``clean_accuracy``; ``curve`` {eps: robust accuracy}; ``transfer``
    {model: accuracy on these adversarial images}; ``report``: everything ``zoo attack`` writes."""

    method: str
    eps: float  # pixel levels out of 255
    images: Any
    labels: Any
    adversarial: Any
    predictions: Any
    clean_predictions: Any
    logits: Any  # (N, K) on the adversarial images
    clean_logits: Any
    robust_accuracy: float
    clean_accuracy: float
    curve: dict
    transfer: dict
    class_names: list
    report: dict
    by_eps: dict = field(default_factory=dict, repr=False)  # eps -> adversarial images


def attack(model, x, y, method: str = "fgsm", eps=8, *, eps_scale: str = "pixel", target=None, transfer_to=(),
           steps=None, step_size=None, random_start=None, seed: int = 0, batch_size: int = 256) -> AttackResult:
    """Adversarial examples (FGSM, BIM, PGD in L-infinity) against a model, and its robust accuracy.

    ``eps`` in pixel levels out of 255 (8 means 8/255), or a list of them for a curve; with
    ``eps_scale="unit"`` it is a fraction of the range (0.03 = 7.65 levels). ``target``: None
    (untargeted), a class name/index, or "least-likely". ``transfer_to``: other models to evaluate
    the adversarial images on (``result.transfer``).

    >>> import zoo
    >>> x, y, _ = zoo.load_data("fashion_mnist", "test", n=32)
    >>> adv = zoo.attack("simplenet", x, y, "fgsm", eps=8)
    >>> adv.robust_accuracy < adv.clean_accuracy, float(abs(adv.adversarial - x).max()) <= 8
    (True, True)
    """
    import warnings

    import numpy as np

    from zoo.attack.report import evaluate_robustness
    from zoo.evaluation import predict_logits

    from zoo.attack.registry import check_eps_scale, small_eps_warning, to_pixels

    scale = check_eps_scale(eps_scale)  # the attack registry's rule, as in `zoo attack --eps-scale`
    values = [to_pixels(e, scale) for e in (eps if isinstance(eps, (list, tuple)) else [eps])]
    note = small_eps_warning(values) if scale == "pixel" else None
    if note is not None:
        warnings.warn(note, stacklevel=2)
    m, info = _model(model)
    images = _check_images(m, info, x)
    _, labels = _arrays(images, y)
    run = evaluate_robustness(m, images, labels, info.class_names, methods=(method,), eps_list=values,
                              target=target, steps=steps, step_size=step_size, random_start=random_start,
                              seed=seed, batch_size=batch_size)
    name = run.report["attack"]["methods"][0]
    rows = run.report["results"][name]
    top = max(r["eps"] for r in rows)
    adv, logits = run.adversarial[(name, top)]
    transfer = {}
    for i, other in enumerate(transfer_to if isinstance(transfer_to, (list, tuple)) else [transfer_to]):
        o, oinfo = _model(other)
        key = str(other) if not _is_model(other) else oinfo.architecture or o.name
        key = key if key not in transfer else f"{key}#{i}"
        transfer[key] = float(np.mean(predict_logits(o, adv, batch_size=batch_size).argmax(1) == labels))
    return AttackResult(
        method=name, eps=top, images=images, labels=labels, adversarial=adv, predictions=logits.argmax(1),
        clean_predictions=run.clean_logits.argmax(1), logits=logits, clean_logits=run.clean_logits,
        robust_accuracy=next(r["robust_accuracy"] for r in rows if r["eps"] == top),
        clean_accuracy=run.report["clean"]["accuracy"], curve={r["eps"]: r["robust_accuracy"] for r in rows},
        transfer=transfer, class_names=list(info.class_names), report=run.report,
        by_eps={e: a for (meth, e), (a, _) in run.adversarial.items() if meth == name})


def ensemble(models, method: str = "vote", *, name: str = "ensemble"):
    """One ``keras.Model`` voting over several classifiers (hard max-voting, or "soft": averaged probabilities).

    ``models``: keras.Models, run directories, .keras files or shipped names, with the same number
    of classes (inputs are resized to each member's). The result is an ordinary classifier:
    ``zoo.evaluate``, ``zoo.explain``, ``zoo.attack`` and ``zoo.export`` take it.

    >>> import zoo
    >>> ens = zoo.ensemble(["lenet5", "simplenet", "resnet20"])
    >>> x, y, _ = zoo.load_data("fashion_mnist", "test", n=64)
    >>> zoo.evaluate(ens, x, y)["accuracy"] > 0.8
    True
    """
    from zoo.ensemble import build_ensemble_model
    from zoo.surgery import independent_copy

    if isinstance(models, (str, os.PathLike)) or len(models) < 2:
        raise InvalidArgumentError("ensemble() takes a list of at least two models.")
    members, infos = [], []
    for item in models:
        m, info = _model(item)
        infos.append(info)
        if _is_model(item):  # the ensemble renames its members: leave the caller's model as it was
            m = independent_copy(m)
        members.append(m)
    model = build_ensemble_model(members, method, name=name)
    first = infos[0]
    return _remember(model, class_names=first.class_names, dataset=first.dataset,
                     source=f"ensemble of {len(members)} ({method})")


def export(model, format: str = "tflite", out=None, *, overwrite: bool = False):
    """Export for deployment (``savedmodel``, ``tflite``, ``onnx``), reload it and check its logits.

    ``model``: a keras.Model, a run directory, a .keras file or a shipped name; ``out``'s folder is
    created. The result's ``.predict(images)`` runs the exported file in its own runtime.

    >>> import zoo
    >>> exp = zoo.export("simplenet", "tflite", "/tmp/zoo-lab/simplenet.tflite", overwrite=True)
    >>> x, y, _ = zoo.load_data("fashion_mnist", "test", n=8)
    >>> exp.predict(x).shape
    (8, 10)
    """
    from zoo.export import FORMATS, check_format, export_model

    fmt = check_format(format)
    if out is None:
        stem = model.name if _is_model(model) else Path(str(model)).stem
        out = Path("exports") / f"{stem}{FORMATS[fmt] or '_savedmodel'}"
    return export_model(model, fmt, out, overwrite=overwrite)

"""Transfer learning: reuse a trained model (a run, a .keras file or ImageNet) for new classes.

Modes (the lectures' menu):
- ``feature-extract``: freeze the whole base, train a new head (softmax classifier on features).
- ``svm``: freeze the base, train a linear head with the multiclass hinge loss + L2 (a linear SVM
  on the penultimate features, Weston-Watkins / cs231n form).
- ``finetune``: train everything (or only the top ``--unfreeze N`` weight layers) at 0.1x the LR.
- ``auto``: the 2x2 rule: small/large new dataset x similar/different distribution.

Batch-norm layers are always frozen (``trainable=False``); in Keras 3 a frozen BN layer also runs
in inference mode, so its moving statistics, learnt on the large source dataset, are kept (the
Keras transfer-learning guide's advice; with a few labelled images they would be wrecked).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import keras
import numpy as np
from keras import layers, ops

from zoo.errors import InvalidArgumentError, ModelFileError, UnknownNameError, close_matches_hint

MODES = ("auto", "finetune", "feature-extract", "svm")
LOGITS = "logits"
FINETUNE_LR_FACTOR = 0.1  # pretrained weights are close to a good solution: small steps keep them
SVM_L2 = 5e-4  # L2 on the SVM head's weights (the "R(W)" of the cs231n SVM loss)
SVM_MARGIN = 1.0
# The 2x2 rule's thresholds. "Small" = fewer labelled examples per class than this: below it a
# network with millions of weights overfits when fine-tuned, and a linear model on features wins.
SMALL_PER_CLASS = 500
# "Similar" = feature-statistics distance below this (see feature_distance). Two samples of the
# same distribution give ~2/n (0.004 with 512 per side); Fashion-MNIST tops -> footwear/bags gives
# ~0.3 (docs/transfer.md), so 0.1 sits well above the noise and below a change of classes.
SIMILAR_DISTANCE = 0.1
AUTO_UNFREEZE_TOP = 2  # large + similar: fine-tune only the top weight layers
DISTANCE_SAMPLES = 512
MAX_FLAT_FEATURES = 4096  # earlier-layer features: flatten up to this size (a VGG fc1 input), else average-pool
KERNEL_LAYERS = (layers.Conv2D, layers.Dense, layers.DepthwiseConv2D, layers.SeparableConv2D, layers.Conv1D)
_DEFAULT_LR = {"sgd": 0.01, "momentum": 0.01, "nesterov": 0.01, "adagrad": 0.01, "rmsprop": 1e-3, "adam": 1e-3}


@dataclass
class TransferSetup:
    """What the trainer needs: the model to fit, its loss and LR, and a line for the user."""

    model: keras.Model
    loss: object = None  # None -> the trainer's default (sparse CE from logits)
    learning_rate: float | None = None  # None -> keep the config's
    message: str = ""
    mode: str = ""  # the mode actually used (auto resolved)
    details: dict = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------
# The SVM loss
# ---------------------------------------------------------------------------------------------


@keras.saving.register_keras_serializable(package="zoo")
class MulticlassHinge(keras.losses.Loss):
    """Weston-Watkins multiclass hinge: sum over j != y of max(0, s_j - s_y + margin).

    Takes integer labels (like SparseCategoricalCrossentropy) and raw scores. The L2 term of the
    SVM objective lives on the head's ``kernel_regularizer``.
    """

    def __init__(self, margin: float = SVM_MARGIN, name: str = "multiclass_hinge", **kwargs):
        super().__init__(name=name, **kwargs)
        self.margin = float(margin)

    def call(self, y_true, y_pred):
        k = ops.shape(y_pred)[-1]
        labels = ops.cast(ops.reshape(y_true, (-1,)), "int32")
        onehot = ops.one_hot(labels, k, dtype=y_pred.dtype)
        correct = ops.sum(y_pred * onehot, axis=-1, keepdims=True)
        margins = ops.relu(y_pred - correct + self.margin) * (1.0 - onehot)
        return ops.sum(margins, axis=-1)

    def get_config(self):
        return super().get_config() | {"margin": self.margin}


def multiclass_hinge(labels, scores, margin: float = SVM_MARGIN) -> np.ndarray:
    """The same loss in numpy, per example (for reports and tests)."""
    scores = np.asarray(scores, dtype="float64")
    labels = np.asarray(labels).astype(int).reshape(-1)
    correct = scores[np.arange(len(labels)), labels][:, None]
    margins = np.maximum(0.0, scores - correct + margin)
    margins[np.arange(len(labels)), labels] = 0.0
    return margins.sum(axis=1)


# ---------------------------------------------------------------------------------------------
# Model surgery
# ---------------------------------------------------------------------------------------------


def head_layer(model) -> layers.Layer:
    """The final Dense ("logits" in zoo models; else the last Dense layer)."""
    try:
        return model.get_layer(LOGITS)
    except ValueError:
        dense = [layer for layer in model.layers if isinstance(layer, layers.Dense)]
        if not dense:
            raise ModelFileError(
                f"Model {model.name!r} has no final Dense layer to replace; transfer needs a "
                "classifier ending in Dense (every zoo model's is named 'logits')."
            ) from None
        return dense[-1]


def penultimate_output(model):
    """The symbolic penultimate features: the input of the final Dense."""
    return head_layer(model).input


def feature_model(model, layer_name: str | None = None) -> keras.Model:
    """image -> penultimate features, or ``layer_name``'s output (flattened when it has at most
    MAX_FLAT_FEATURES values, else globally average-pooled)."""
    if any(isinstance(layer, keras.Model) for layer in model.layers):
        raise ModelFileError(
            f"Model {model.name!r} contains sub-models (an ensemble?); features and transfer need a "
            "single network. Pass one member's run instead."
        )
    if layer_name is None:
        out = penultimate_output(model)
    else:
        names = [layer.name for layer in model.layers]
        if layer_name not in names:
            raise UnknownNameError(f"{model.name} has no layer {layer_name!r}." + close_matches_hint(layer_name, names))
        out = model.get_layer(layer_name).output
        if len(out.shape) == 4:
            # small maps keep their layout (what the next FC layer saw); big ones are averaged
            if int(np.prod(out.shape[1:])) <= MAX_FLAT_FEATURES:
                out = layers.Flatten(name="feature_flatten")(out)
            else:
                out = layers.GlobalAveragePooling2D(name="feature_pool")(out)
    return keras.Model(model.inputs[0], out, name=f"{model.name}_features")


def model_input_shape(model) -> tuple[int, int, int]:
    shape = tuple(model.inputs[0].shape)
    if len(shape) != 4 or any(v is None for v in shape[1:]):
        raise ModelFileError(f"Transfer needs a model with a fixed image input (batch, H, W, C); got {shape}.")
    return tuple(int(v) for v in shape[1:])


def earlier_feature_layer(model) -> str:
    """A layer below the penultimate one, for 'feature-extract from earlier layers'.

    The end of the convolutional trunk when fully connected layers follow it (they are the most
    task-specific); otherwise (a trunk ending in global pooling, as ResNet/GoogLeNet) the end of
    the previous stage, i.e. the last spatial output with a larger resolution than the final one.
    """
    head = head_layer(model)
    order = model.layers
    spatial = [layer for layer in order if layer is not head and len(layer.output.shape) == 4]
    if not spatial:
        raise InvalidArgumentError(f"Model {model.name!r} has no convolutional layers to take earlier features from.")
    last = spatial[-1]
    after = order[order.index(last) + 1 : order.index(head)]
    if any(isinstance(layer, KERNEL_LAYERS) for layer in after):
        return last.name
    final_hw = tuple(last.output.shape[1:3])
    larger = [layer for layer in spatial if tuple(layer.output.shape[1:3]) != final_hw
              and not isinstance(layer, (layers.InputLayer, layers.Rescaling, layers.Normalization))]
    return larger[-1].name if larger else last.name


def replace_head(model, num_classes: int, *, input_shape=None, features_from: str | None = None,
                 l2: float | None = None, seed: int | None = None) -> keras.Model:
    """A new model: the source's layers (shared, same weights) up to the features, a new Dense head.

    The new head is ``Dense(num_classes, name="logits")`` on the penultimate features (or on
    ``features_from``'s output, see ``feature_model``). When ``input_shape`` differs from the source's,
    a ``MatchInput`` layer resizes / converts channels in front, so the graph stays flat (every
    layer reachable by name, as in any zoo model).
    """
    from zoo.layers import MatchInput

    if not isinstance(num_classes, int) or num_classes < 1:
        raise InvalidArgumentError(f"The new head needs a positive number of classes; got {num_classes!r}.")
    base = feature_model(model, features_from)
    src_shape = model_input_shape(model)
    input_shape = tuple(int(v) for v in (input_shape or src_shape))
    head = layers.Dense(
        num_classes,
        name=LOGITS,
        kernel_regularizer=keras.regularizers.L2(l2) if l2 else None,
        kernel_initializer=keras.initializers.GlorotUniform(seed=seed),
    )
    if input_shape == src_shape:  # the source's own graph: every layer.output stays valid (Grad-CAM)
        return keras.Model(base.inputs[0], head(base.outputs[0]), name=f"{_base_name(model)}_transfer")
    image = keras.Input(shape=input_shape, dtype="float32", name="image")
    x = MatchInput(*src_shape, name="match_input")(image)
    try:  # re-run the source graph on the new input with the same layer objects (flat model)
        feats = base._run_through_graph(x, operation_fn=lambda op: op)
    except Exception:  # a private Keras API: fall back to nesting the feature model
        feats = base(x)
    shared = keras.Model(image, head(feats), name=f"{_base_name(model)}_transfer")
    # a clone has one node per layer (the shared layers have two), so layer.output is unambiguous
    fresh = keras.models.clone_model(shared)
    fresh.set_weights(shared.get_weights())
    # Normalization keeps constant copies of its statistics, refreshed only by finalize_state
    # (which set_weights does not call; loading a .keras file does): without it the clone would
    # train unstandardised while the saved model standardises
    for layer in fresh.layers:
        if hasattr(layer, "finalize_state"):
            layer.finalize_state()
    return fresh


def _base_name(model) -> str:
    return model.name.removesuffix("_transfer")


def weight_layers(model) -> list:
    """Layers with a kernel (conv / dense), bottom to top, excluding the head."""
    head = model.get_layer(LOGITS)
    return [layer for layer in model.layers if isinstance(layer, KERNEL_LAYERS) and layer is not head]


def set_trainable(model, mode: str, unfreeze: int | None = None) -> list[str]:
    """Freeze per mode; returns the names of the trainable layers (besides the head).

    Batch-norm layers stay frozen in every mode (inference mode, source statistics kept), and so
    does the input standardization (the features were learnt on inputs scaled that way).
    """
    head = model.get_layer(LOGITS)
    body = weight_layers(model)
    model.trainable = True
    if mode in ("feature-extract", "svm"):
        cut = len(model.layers)
    elif unfreeze is None:
        cut = 0
    else:
        if isinstance(unfreeze, bool) or not isinstance(unfreeze, int) or unfreeze < 0:
            raise InvalidArgumentError(f"--unfreeze must be a non-negative integer; got {unfreeze!r}.")
        if unfreeze > len(body):
            raise InvalidArgumentError(
                f"--unfreeze {unfreeze} is larger than the model: {_base_name(model)} has {len(body)} weight "
                f"layers below the new head ({', '.join(layer.name for layer in body)}). "
                f"Pass at most {len(body)}, or omit --unfreeze to fine-tune everything."
            )
        cut = len(model.layers) if unfreeze == 0 else model.layers.index(body[-unfreeze])
    trainable = []
    for i, layer in enumerate(model.layers):
        if layer is head:
            layer.trainable = True
        elif isinstance(layer, (layers.BatchNormalization, layers.Normalization)) or i < cut:
            layer.trainable = False
        else:
            layer.trainable = True
            if layer.weights:
                trainable.append(layer.name)
    return trainable


# ---------------------------------------------------------------------------------------------
# Sources
# ---------------------------------------------------------------------------------------------


def load_source(source, model_name: str | None = None, *, download: bool = False):
    """(model, info) for a run directory, a .keras file or ``imagenet`` (needs ``model_name``;
    ``download`` lets Keras fetch a missing weight file)."""
    from zoo.run import load_model, read_run_config

    if str(source).strip().lower() == "imagenet":
        if not model_name:
            raise InvalidArgumentError(
                "--from imagenet needs a model name (one of " + ", ".join(IMAGENET_MODELS) + ")."
            )
        return imagenet_model(model_name, download=download), {"kind": "imagenet", "name": f"ImageNet {model_name}", "config": {}}
    model = load_model(source)
    cfg = read_run_config(source)
    return model, {"kind": "run", "name": str(source), "config": cfg}


# ---------------------------------------------------------------------------------------------
# The 2x2 rule
# ---------------------------------------------------------------------------------------------


def feature_distance(source_features, target_features) -> float:
    """How far apart two feature distributions are: ||mean_s - mean_t||^2 / pooled total variance.

    Scale-free (a ratio of squared lengths), 0 for identical distributions (plus ~dim/n sampling
    noise), about 1 when the means are as far apart as a typical sample is from its own mean.
    """
    s = np.asarray(source_features, dtype="float64").reshape(len(source_features), -1)
    t = np.asarray(target_features, dtype="float64").reshape(len(target_features), -1)
    gap = float(((s.mean(0) - t.mean(0)) ** 2).sum())
    spread = float((s.var(0).sum() + t.var(0).sum()) / 2)
    return gap / spread if spread > 0 else (0.0 if gap == 0 else float("inf"))


def choose_mode(examples_per_class: float, distance: float | None) -> tuple[str, int | None, str]:
    """(mode, unfreeze, reason) by the 2x2 rule; ``distance`` None = unknown (treated as different)."""
    small = examples_per_class < SMALL_PER_CLASS
    size = (f"small new dataset ({examples_per_class:.0f} examples/class < {SMALL_PER_CLASS})" if small
            else f"large new dataset ({examples_per_class:.0f} examples/class >= {SMALL_PER_CLASS})")
    if distance is None:
        similar, sim = False, "source data unavailable, so assumed a different distribution"
    else:
        similar = distance < SIMILAR_DISTANCE
        sim = (f"{'similar' if similar else 'different'} distribution (feature distance {distance:.3f} "
               f"{'<' if similar else '>='} {SIMILAR_DISTANCE})")
    if small and similar:
        mode, unfreeze, what = "svm", None, "a linear SVM on the penultimate features"
    elif small:
        mode, unfreeze, what = "feature-extract", None, "a new classifier on earlier (more generic) features"
    elif similar:
        mode, unfreeze, what = "finetune", AUTO_UNFREEZE_TOP, f"fine-tune the top {AUTO_UNFREEZE_TOP} weight layers"
    else:
        mode, unfreeze, what = "finetune", None, "fine-tune the whole network"
    return mode, unfreeze, f"{size} + {sim} -> {what}"


def _train_split(data):
    return getattr(data, "train", data)


def count_examples(data) -> int:
    sizes = getattr(data, "sizes", None) or {}
    if sizes.get("train"):
        return int(sizes["train"])
    import tensorflow as tf

    ds = _train_split(data)
    n = int(ds.cardinality())
    if n >= 0:
        return n
    return int(ds.reduce(tf.constant(0, tf.int64), lambda c, _: c + 1))


def _sample_features(features, ds, n: int) -> np.ndarray:
    """Penultimate features of the first ``n`` examples of an unbatched (image, label) dataset."""
    from zoo.data import convert_images

    shape = model_input_shape(features)
    if ds.element_spec[0].shape.rank == 4:  # already batched
        ds = ds.unbatch()
    # convert each example before batching: an image folder may hold images of different sizes
    batches = ds.take(n).map(lambda x, y: convert_images(x, shape)).batch(128)
    out = [features(b, training=False).numpy() for b in batches]
    return np.concatenate(out).reshape(-1, int(np.prod(out[0].shape[1:]))) if out else np.zeros((0, 1))


def source_sample(info: dict, n: int = DISTANCE_SAMPLES):
    """Unbatched train examples of the source run's dataset (restricted to its ``classes``), or None."""
    import tensorflow as tf

    cfg = info.get("config") or {}
    if not cfg.get("dataset"):
        return None
    try:
        from zoo.run import Run

        ds = Run.open(info["name"]).data().train
    except Exception:  # the source data may live on another machine: the rule then says "unknown"
        return None
    classes = cfg.get("classes")
    if classes:
        keep = tf.constant([int(c) for c in classes], tf.int64)
        ds = ds.filter(lambda x, y: tf.reduce_any(tf.equal(tf.cast(y, tf.int64), keep)))
    return ds.take(n)


def transfer_distance(model, info: dict, data, n: int = DISTANCE_SAMPLES) -> float | None:
    """Feature distance between the source run's data and the new data, or None if unknown."""
    src = source_sample(info, n)
    if src is None:
        return None
    feats = feature_model(model)
    return feature_distance(_sample_features(feats, src, n), _sample_features(feats, _train_split(data), n))


# ---------------------------------------------------------------------------------------------
# The trainer's entry point
# ---------------------------------------------------------------------------------------------


def _base_learning_rate(config) -> float:
    lr = getattr(config, "lr", None)
    if lr is None:
        lr = getattr(config, "learning_rate", None)
    if lr is not None:
        return float(lr)
    return _DEFAULT_LR.get(str(getattr(config, "optimizer", "adam") or "adam").lower(), 1e-3)


def prepare_transfer(config, data, input_shape, num_classes) -> TransferSetup:
    """Load ``config.transfer_from``, put a ``num_classes`` head on it and freeze per ``config.transfer``."""
    source = getattr(config, "transfer_from", None)
    if not source:
        raise InvalidArgumentError("prepare_transfer needs config.transfer_from (a run, a .keras file or 'imagenet').")
    mode = str(getattr(config, "transfer", None) or "auto").lower().replace("_", "-")
    if mode == "feature-extraction":
        mode = "feature-extract"
    if mode not in MODES:
        raise UnknownNameError(f"Unknown transfer mode {mode!r}." + close_matches_hint(mode, MODES))
    unfreeze = getattr(config, "unfreeze", None)
    if unfreeze is not None and mode in ("feature-extract", "svm"):
        raise InvalidArgumentError(
            f"--unfreeze {unfreeze} only applies to --transfer finetune (or auto); {mode} keeps the base frozen."
        )
    seed = getattr(config, "seed", None)
    model, info = load_source(source, getattr(config, "model", None), download=bool(getattr(config, "download", False)))
    trained_as = (info.get("config") or {}).get("model")
    wanted = getattr(config, "model", None)
    if trained_as and wanted and trained_as != wanted:
        raise InvalidArgumentError(
            f"{source} holds a {trained_as}, not a {wanted}: transfer keeps the source's architecture. "
            f"Run `zoo train {trained_as} --from {source} ...`."
        )
    reason = ""
    features_from = None
    if mode == "auto":
        per_class = count_examples(data) / max(1, int(num_classes))
        distance = transfer_distance(model, info, data) if info["kind"] == "run" else None
        mode, auto_unfreeze, reason = choose_mode(per_class, distance)
        if unfreeze is None:
            unfreeze = auto_unfreeze
        if mode == "feature-extract":
            features_from = earlier_feature_layer(model)
        if mode != "finetune":
            unfreeze = None
    new = replace_head(
        model, int(num_classes), input_shape=input_shape, features_from=features_from,
        l2=SVM_L2 if mode == "svm" else None, seed=seed,
    )
    trainable = set_trainable(new, mode, unfreeze)
    loss = MulticlassHinge() if mode == "svm" else None
    lr = _base_learning_rate(config) * FINETUNE_LR_FACTOR if mode == "finetune" else None
    where = f"features of {features_from!r}" if features_from else "penultimate features"
    if mode == "finetune":
        what = (f"fine-tuning {'all' if unfreeze is None else f'the top {unfreeze}'} weight layers "
                f"({len(trainable)} unfrozen + new head) at learning rate {lr:g} "
                f"({FINETUNE_LR_FACTOR:g}x); batch-norm layers keep the source statistics")
    elif mode == "svm":
        what = f"frozen base, linear SVM head (multiclass hinge, L2 {SVM_L2:g}) on the {where}"
    else:
        what = f"frozen base, new softmax head on the {where}"
    message = f"Transfer from {info['name']}: {mode} with a new {num_classes}-class head; {what}."
    if reason:
        message += f" Auto chose {mode}: {reason}."
    return TransferSetup(
        model=new, loss=loss, learning_rate=lr, message=message, mode=mode,
        details={"source": info["name"], "unfreeze": unfreeze, "features_from": features_from,
                 "trainable_layers": trainable, "reason": reason},
    )


# ---------------------------------------------------------------------------------------------
# ImageNet weights from keras.applications
# ---------------------------------------------------------------------------------------------

# zoo name -> (keras.applications constructor, weight file Keras caches in ~/.keras/models)
IMAGENET_MODELS = {
    "vgg16": ("VGG16", "vgg16_weights_tf_dim_ordering_tf_kernels.h5"),
    "vgg19": ("VGG19", "vgg19_weights_tf_dim_ordering_tf_kernels.h5"),
}
# keras.applications also has ResNet50, but it is ResNet v1 (stride in the first 1x1 conv of a
# block, explicit 3-pixel stem padding) while the zoo's resnet50 is torchvision's v1.5 (stride in
# the 3x3 conv, "same" padding): the weights fit the shapes but compute another function.
LAYOUT_MISMATCH = {
    "resnet50": "keras.applications' ResNet50 is ResNet v1 (stride in the first 1x1 conv of each block, "
                "explicit stem padding) while the zoo's resnet50 follows torchvision's v1.5 (stride in the "
                "3x3 conv): its ImageNet weights would load but compute a different function",
}
CAFFE_MEAN_RGB = (123.68, 116.779, 103.939)  # keras.applications "caffe" mode subtracts these (as BGR)


def keras_cache_dir() -> Path:
    return Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")).expanduser() / "models"


def imagenet_weights_file(name: str, *, download: bool = False) -> Path | None:
    """The cached keras.applications weight file for ``name``; None when it is missing but
    ``download`` is allowed (Keras then fetches it); else a ZooError saying how to get it."""
    if name in LAYOUT_MISMATCH:
        raise InvalidArgumentError(
            f"No ImageNet weights for {name}: {LAYOUT_MISMATCH[name]}. Use --from imagenet with "
            f"{' or '.join(IMAGENET_MODELS)}, or train {name} on your data."
        )
    if name not in IMAGENET_MODELS:
        raise UnknownNameError(
            f"No ImageNet weights for {name!r}: keras.applications covers {', '.join(IMAGENET_MODELS)} "
            "with the zoo's layout." + close_matches_hint(name, IMAGENET_MODELS)
        )
    path = keras_cache_dir() / IMAGENET_MODELS[name][1]
    if not path.is_file():
        if download:
            return None
        raise ModelFileError(
            f"ImageNet weights for {name} are not on this machine: missing {path}. Pass --download to "
            f"let Keras fetch them (needs internet), or on a machine with internet run "
            f"`python -c \"import keras; keras.applications.{IMAGENET_MODELS[name][0]}()\"`, then copy "
            f"~/.keras/models/{path.name} to {path.parent}/."
        )
    return path


def keras_application(name: str, weights="imagenet", *, download: bool = False, **kwargs):
    """The keras.applications model for a zoo name (weights from the local cache unless ``download``)."""
    if weights == "imagenet":
        path = imagenet_weights_file(name, download=download)
        if path is None:
            try:
                return getattr(keras.applications, IMAGENET_MODELS[name][0])(weights="imagenet", **kwargs)
            except Exception as exc:  # no network, a proxy, a truncated file ...
                raise ModelFileError(
                    f"Could not download the ImageNet weights for {name} ({type(exc).__name__}: "
                    f"{str(exc).strip()[:120]}). Place {IMAGENET_MODELS[name][1]} in {keras_cache_dir()}/."
                ) from None
        weights = str(path)
    elif name not in IMAGENET_MODELS:
        imagenet_weights_file(name)  # raises the unknown-name error
    ctor = getattr(keras.applications, IMAGENET_MODELS[name][0])
    return ctor(weights=weights, **kwargs)


def _weighted(model) -> list:
    keep = (layers.Conv2D, layers.Dense, layers.BatchNormalization)
    return [layer for layer in model.layers if isinstance(layer, keep) and layer.weights]


def map_keras_application(zoo_model, app_model) -> list[tuple[str, str]]:
    """Copy a keras.applications model's weights onto the zoo model, layer by layer in order.

    Conv/Dense/BN layers are paired in graph order and must agree in type and shape. The first
    conv's input channels are flipped (caffe BGR -> the zoo's RGB); a conv bias the zoo layer lacks
    (conv followed by BN) is folded into that BN's moving mean; the "standardize" layer is set so
    that rescale + standardize reproduce caffe preprocessing (x - mean, no scaling). With a
    headless ``app_model`` (include_top=False) only the trunk is mapped. Returns the pairs.
    """
    from zoo.models.common import set_standardization

    src, dst = _weighted(app_model), _weighted(zoo_model)
    dst = [layer for layer in dst if layer.name != LOGITS or any(isinstance(s, layers.Dense) for s in src)]
    if len(src) > len(dst):
        raise ModelFileError(
            f"Cannot map {app_model.name} onto {zoo_model.name}: {len(src)} weight layers vs {len(dst)}."
        )
    pairs, pending_bias, first_conv = [], None, True
    for s, d in zip(src, dst):
        if type(s) is not type(d) and not (isinstance(s, layers.Conv2D) and isinstance(d, layers.Conv2D)):
            raise ModelFileError(
                f"Layouts differ at {s.name} ({type(s).__name__}) vs {d.name} ({type(d).__name__}); "
                f"{zoo_model.name} does not match {app_model.name}."
            )
        if isinstance(s, layers.BatchNormalization):
            gamma, beta, mean, var = [w.numpy() for w in s.weights]
            if pending_bias is not None:
                mean = mean - pending_bias
                pending_bias = None
            var = var + (s.epsilon - d.epsilon)  # same normalisation despite different epsilons
            d.set_weights([gamma, beta, mean, var])
        else:
            kernel = s.kernel.numpy()
            if isinstance(s, layers.Conv2D) and first_conv:
                kernel = kernel[:, :, ::-1, :]
                first_conv = False
            if tuple(kernel.shape) != tuple(d.kernel.shape):
                raise ModelFileError(
                    f"Shapes differ at {s.name} {tuple(kernel.shape)} vs {d.name} {tuple(d.kernel.shape)}."
                )
            weights = [kernel]
            bias = s.bias.numpy() if s.use_bias else None
            if d.use_bias:
                weights.append(bias if bias is not None else np.zeros(d.bias.shape, "float32"))
            elif bias is not None:
                pending_bias = bias
            d.set_weights(weights)
        pairs.append((s.name, d.name))
    set_standardization(zoo_model, np.asarray(CAFFE_MEAN_RGB) / 255.0, (1.0 / 255.0) ** 2)
    return pairs


def imagenet_model(name: str, *, weights="imagenet", download: bool = False):
    """The zoo's faithful ``name`` (224x224x3, 1000 classes) carrying keras.applications' weights."""
    from zoo.registry import create_model

    if name not in IMAGENET_MODELS:
        imagenet_weights_file(name)
    app = keras_application(name, weights=weights, download=download)
    model = create_model(name, (224, 224, 3), 1000)
    map_keras_application(model, app)
    return model

"""What every model family shares: the input stem (rescale + standardize), small blocks, checks.

Conventions (see DESIGN.md): inputs are raw pixels in [0, 255]; the model itself rescales to
[0, 1] and standardizes per channel; the last layer is ``Dense(num_classes, name="logits")``
without softmax. The penultimate features (transfer learning, linear SVM) are
``model.get_layer(LOGITS).input``.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import layers

from zoo.errors import InvalidArgumentError

RESCALE = "rescale"
STANDARDIZE = "standardize"
LOGITS = "logits"


def model_input(input_shape) -> keras.KerasTensor:
    """The float32 image input, raw pixels in [0, 255]."""
    return keras.Input(shape=tuple(input_shape), dtype="float32", name="image")


def preprocess(inputs):
    """Rescale to [0, 1], then standardize per channel (identity until ``set_standardization``).

    An un-adapted Keras ``Normalization`` holds mean 0 / variance 1 weights, so it is the identity
    and its (assigned) statistics are saved and restored with the ``.keras`` file.
    """
    x = layers.Rescaling(1.0 / 255, name=RESCALE)(inputs)
    return layers.Normalization(axis=-1, name=STANDARDIZE)(x)


def set_standardization(model, mean, variance) -> None:
    """Set the per-channel mean and variance (units: pixel/255) of the model's "standardize" layer.

    ``mean``/``variance`` are scalars or sequences with one value per input channel.
    """
    try:
        layer = model.get_layer(STANDARDIZE)
    except ValueError:
        raise InvalidArgumentError(
            f"Model {model.name!r} has no {STANDARDIZE!r} layer; only zoo models can be standardized."
        ) from None
    channels = int(layer.adapt_mean.shape[-1])
    mean = _per_channel(mean, channels, "mean")
    variance = _per_channel(variance, channels, "variance")
    if not np.all(np.isfinite(mean)) or not np.all(np.isfinite(variance)) or np.any(variance <= 0):
        raise InvalidArgumentError(
            f"Standardization needs finite means and positive variances; got mean={mean.tolist()}, "
            f"variance={variance.tolist()}."
        )
    layer.adapt_mean.assign(mean)
    layer.adapt_variance.assign(variance)
    # Normalization turns its variables into constant tensors here; functions traced before
    # (predict/train steps) captured the old constants, so they must be re-traced.
    layer.finalize_state()
    for attr in ("train_function", "test_function", "predict_function"):
        if hasattr(model, attr):
            setattr(model, attr, None)


def get_standardization(model) -> tuple[np.ndarray, np.ndarray]:
    """The (mean, variance) currently set, one value per channel (units: pixel/255)."""
    layer = model.get_layer(STANDARDIZE)
    return np.asarray(layer.adapt_mean.numpy()), np.asarray(layer.adapt_variance.numpy())


def _per_channel(value, channels: int, what: str) -> np.ndarray:
    arr = np.asarray(value, dtype="float32").reshape(-1)
    if arr.size == 1:
        arr = np.full((channels,), arr[0], dtype="float32")
    if arr.size != channels:
        raise InvalidArgumentError(
            f"Standardization {what} needs 1 or {channels} values (one per input channel); "
            f"got {arr.size}: {arr.tolist()}."
        )
    return arr


def resolve_dropout(dropout, paper_value: float, model: str) -> float:
    """``None`` -> the paper's rate; otherwise a rate in [0, 1)."""
    if dropout is None:
        return paper_value
    if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0 <= dropout < 1:
        raise InvalidArgumentError(
            f"{model}: dropout must be a number in [0, 1) (or None for the paper's {paper_value}); "
            f"got {dropout!r}."
        )
    return float(dropout)


def conv_bn_relu(x, filters: int, kernel_size, *, name: str, strides=1, padding: str = "same"):
    """Conv (no bias: BN's beta replaces it) -> BatchNorm -> ReLU; layers ``name``, ``name_bn``, ``name_relu``."""
    x = layers.Conv2D(filters, kernel_size, strides=strides, padding=padding, use_bias=False, name=name)(x)
    x = layers.BatchNormalization(epsilon=1e-5, momentum=0.9, name=f"{name}_bn")(x)
    return layers.ReLU(name=f"{name}_relu")(x)


def logits_layer(x, num_classes: int):
    """The output: ``Dense(num_classes, name="logits")``, no softmax."""
    return layers.Dense(num_classes, name=LOGITS)(x)


def check_spatial(input_shape, minimum: int, model: str) -> None:
    """A clear error instead of a negative-dimension crash deep inside Keras."""
    h, w = int(input_shape[0]), int(input_shape[1])
    if min(h, w) < minimum:
        raise InvalidArgumentError(
            f"{model} needs inputs of at least {minimum}x{minimum} pixels; got {h}x{w}. "
            "Pass a larger --input-shape or a small-input model (e.g. simplenet, resnet20; see `zoo models`)."
        )


def fashion_mnist_recipe(**options) -> dict:
    """A ``recipes=`` entry: the ``zoo train`` options behind a model's shipped Fashion-MNIST weights.

    The shared part: 28x28x1 inputs, batch 128, the default 10% validation split, seed 0, float32,
    and mirror + 2-pixel shift augmentation (clothes are left-right symmetric and centred, so
    larger shifts or rotations only make the task harder). Each family file adds its own epochs,
    optimizer and schedule, sized to train in at most 75 minutes on 2 CPU cores.
    """
    base = dict(dataset="fashion_mnist", input_shape=(28, 28, 1), batch_size=128, val_split=0.1, seed=0,
                precision="fp32", augment="flip,crop=2", weight_decay=0.0, warmup_epochs=0.0)
    return {"fashion_mnist": {**base, **options}}

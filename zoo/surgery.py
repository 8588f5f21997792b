"""Model surgery: the head, the penultimate features, a new head, which layers train.

Transfer learning, feature export (``zoo features``) and the linear SVM all build on these.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import layers

from zoo.errors import InvalidArgumentError, ModelFileError, UnknownNameError, close_matches_hint

LOGITS = "logits"
MAX_FLAT_FEATURES = 4096  # earlier-layer features: flatten up to this size (a VGG fc1 input), else average-pool
KERNEL_LAYERS = (layers.Conv2D, layers.Dense, layers.DepthwiseConv2D, layers.SeparableConv2D, layers.Conv1D)


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
    """A new, independent model: copies of the source's layers (same weights) up to the features, a new head.

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
    if input_shape == src_shape:  # the source's own graph
        shared = keras.Model(base.inputs[0], head(base.outputs[0]), name=f"{_base_name(model)}_transfer")
    else:
        image = keras.Input(shape=input_shape, dtype="float32", name="image")
        x = MatchInput(*src_shape, name="match_input")(image)
        try:  # re-run the source graph on the new input with the same layer objects (flat model)
            feats = base._run_through_graph(x, operation_fn=lambda op: op)
        except Exception:  # a private Keras API: fall back to nesting the feature model
            feats = base(x)
        shared = keras.Model(image, head(feats), name=f"{_base_name(model)}_transfer")
    # An independent copy: new layer objects with the source's weights copied in, so freezing or
    # fine-tuning the new model never touches the source (its layers are not shared); a clone also
    # has one node per layer, so every layer.output is unambiguous (Grad-CAM).
    return independent_copy(shared)


def independent_copy(model) -> keras.Model:
    """A clone of ``model`` with its own layers and a copy of its weights: training one never moves the other."""
    return copy_weights(model, keras.models.clone_model(model))


def copy_weights(source, target):
    """Give ``target`` (the same architecture) ``source``'s weights; returns ``target``.

    Normalization (and the other preprocessing layers) keep constant copies of their statistics,
    refreshed only by ``finalize_state``, which loading a .keras file calls and ``set_weights`` does
    not: without it the copy would run unstandardised while the source standardises.
    """
    target.set_weights(source.get_weights())
    stack = list(target.layers)
    while stack:
        layer = stack.pop()
        if hasattr(layer, "finalize_state"):
            layer.finalize_state()
        stack.extend(getattr(layer, "layers", []))  # ensembles hold their members as sub-models
    return target


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



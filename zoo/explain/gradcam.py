"""Grad-CAM (Selvaraju et al. 2017): class-weighted sum of a conv layer's feature maps.

weights_k = spatial mean of d logit[target] / d A_k; map = ReLU(sum_k weights_k * A_k), resized
bilinearly to the input size. Images are walked in chunks of ``batch_size`` inside one
``tf.function``.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from zoo.errors import InvalidArgumentError, UnknownNameError, close_matches_hint
from zoo.explain.saliency import DEFAULT_BATCH_SIZE, check_batch_size
from zoo.gradients import score_gradient


def four_d_layers(model) -> list[str]:
    """Names of the layers whose output is (batch, H, W, C), in model order."""
    names = []
    for layer in model.layers:
        try:
            shape = layer.output.shape
        except (AttributeError, ValueError):
            continue
        if len(shape) == 4 and layer.name != model.layers[0].name:
            names.append(layer.name)
    return names


def default_layer(model, registry_last_conv: str | None = None) -> str:
    """The registry's last conv layer when the model has it, else the last layer with a 4-D output.

    The registry entry is the run's model, else the model's own name (a zoo model keeps its
    registered name in any .keras file), so the CLI and a Python ``Explainer(model)`` pick the same layer.
    """
    names = {layer.name for layer in model.layers}
    if registry_last_conv is None:
        from zoo.errors import ZooError
        from zoo.registry import MODELS

        try:
            registry_last_conv = MODELS.get(model.name).last_conv
        except ZooError:  # not a zoo model: the last 4-D layer
            pass
    if registry_last_conv and registry_last_conv in names:
        return registry_last_conv
    candidates = [n for n in four_d_layers(model) if n not in ("rescale", "standardize")]
    if not candidates:
        raise InvalidArgumentError(
            f"Model {model.name!r} has no layer with a 4-D (batch, H, W, C) output, so Grad-CAM has "
            "nothing to weight; use --method gradient, smoothgrad or integrated-gradients."
        )
    return candidates[-1]


def resolve_layer(model, layer: str | None, registry_last_conv: str | None = None) -> str:
    """The layer Grad-CAM weighs in ``model``: ``layer`` checked, else ``default_layer``. A model given
    an input scale is unwrapped: Grad-CAM weighs the layers of the model itself, not the scaling."""
    from zoo.inputs import unwrap

    inner, _ = unwrap(model)
    return check_layer(inner, layer) if layer else default_layer(inner, registry_last_conv)


def check_layer(model, layer: str) -> str:
    names = [layer_.name for layer_ in model.layers]
    if layer not in names:
        raise UnknownNameError(
            f"Model {model.name!r} has no layer {layer!r}." + close_matches_hint(layer, four_d_layers(model) or names)
        )
    if layer not in four_d_layers(model):
        shape = tuple(model.get_layer(layer).output.shape)
        usable = [n for n in four_d_layers(model) if n not in ("rescale", "standardize")]
        raise InvalidArgumentError(
            f"Grad-CAM needs a layer with a 4-D (batch, H, W, C) output; {layer!r} has {shape}. "
            f"Pick one of: {', '.join(usable[-6:])}."
        )
    return layer


class GradCam:
    """Compiled Grad-CAM for one model and layer (reusable across weight changes)."""

    def __init__(self, model, layer: str, batch_size: int = DEFAULT_BATCH_SIZE):
        import keras

        from zoo.inputs import unwrap

        inner, scaled = unwrap(model)  # a model given an input scale: its layers are the inner model's
        self.layer = check_layer(inner, layer)
        self.batch_size = check_batch_size(batch_size)
        shape = tuple(model.inputs[0].shape[1:])
        self.input_shape = shape
        # One forward pass gives both the feature maps and the logits.
        net = keras.Model(inner.inputs, [inner.get_layer(layer).output, inner.outputs[0]], name=f"{inner.name}_gradcam")
        self._features_and_logits = net if scaled is None else keras.Model(model.inputs, net(scaled))
        self._run = tf.function(
            self._loop,
            input_signature=(tf.TensorSpec((None, *shape), tf.float32), tf.TensorSpec((None,), tf.int32)),
        )

    def _loop(self, images, targets):
        chunk, net = self.batch_size, self._features_and_logits
        height, width = self.input_shape[0], self.input_shape[1]
        n = tf.shape(images)[0]
        out = tf.zeros((n, height, width), tf.float32)
        for c in tf.range((n + chunk - 1) // chunk):
            idx = tf.minimum(c * chunk + tf.range(chunk), n - 1)  # padded with repeats of the last image
            x = tf.gather(images, idx)

            def class_score(x):
                features, logits = net(x, training=False)
                return tf.gather(logits, tf.gather(targets, idx), batch_dims=1), features

            features, grads = score_gradient(class_score, x, wrt=lambda features: features)  # d score / d maps
            weights = tf.reduce_mean(grads, axis=[1, 2], keepdims=True)
            cam = tf.nn.relu(tf.reduce_sum(weights * features, axis=-1, keepdims=True))
            cam = tf.image.resize(cam, (height, width), method="bilinear")[..., 0]
            out = tf.tensor_scatter_nd_update(out, idx[:, None], cam)
        return out

    def __call__(self, images, targets) -> np.ndarray:
        images = np.asarray(images, dtype="float32")
        if images.ndim != 4 or tuple(images.shape[1:]) != self.input_shape:
            raise InvalidArgumentError(
                f"Images must have shape (N, {', '.join(map(str, self.input_shape))}); got {images.shape}."
            )
        if len(images) == 0:
            return np.zeros((0, *self.input_shape[:2]), "float32")
        targets = np.asarray(targets, dtype="int32").reshape(-1)
        return self._run(tf.constant(images), tf.constant(targets)).numpy()

"""The first conv layer's kernels: what the network learned to look for in raw pixels."""

from __future__ import annotations

import numpy as np

from zoo.errors import InvalidArgumentError, UnknownNameError, close_matches_hint


def conv_layers(model) -> list:
    """Layers with a 4-D kernel (kh, kw, in, out), in model order."""
    return [
        layer for layer in model.layers
        if getattr(layer, "kernel", None) is not None and len(layer.kernel.shape) == 4
    ]


def first_conv_kernels(model, layer: str | None = None) -> tuple[str, np.ndarray]:
    """(layer name, kernels (out, kh, kw, in)) of the first conv layer, or of ``layer``."""
    convs = conv_layers(model)
    if layer is not None:
        found = [c for c in convs if c.name == layer]
        if not found:
            raise UnknownNameError(
                f"Model {model.name!r} has no conv layer {layer!r}." + close_matches_hint(layer, [c.name for c in convs])
            )
        conv = found[0]
    elif convs:
        conv = convs[0]
    else:
        raise InvalidArgumentError(f"Model {model.name!r} has no conv layer, so there are no kernels to draw.")
    kernel = np.asarray(conv.kernel.numpy() if hasattr(conv.kernel, "numpy") else conv.kernel)
    return conv.name, np.transpose(kernel, (3, 0, 1, 2))

"""Saliency maps: gradient, SmoothGrad, Integrated Gradients, Grad-CAM, and a sanity check.

Everything differentiates the target class LOGIT (never a saturated softmax) with respect to the
raw input pixels in [0, 255]; see ``saliency.py`` for the batched, compiled core and
``registry.py`` for the methods (one file each in ``methods/``). Importing this package is cheap:
the names below load their module (and TensorFlow) on first use, so the CLI can read the registry.
"""

import importlib

_WHERE = {
    "ALL_METHODS": "explainer", "METHODS": "explainer", "Explainer": "explainer", "Explanation": "registry",
    "resolve_methods": "registry", "resolve_targets": "explainer", "GradCam": "gradcam",
    "default_layer": "gradcam", "GradientEngine": "saliency", "attribution_heatmap": "saliency",
    "to_heatmap": "saliency",
}
__all__ = sorted(_WHERE)


def __getattr__(name):
    if name in _WHERE:
        return getattr(importlib.import_module(f"zoo.explain.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'zoo.explain' has no attribute {name!r}")

"""Saliency maps: gradient, SmoothGrad, Integrated Gradients, Grad-CAM, and a sanity check.

Everything differentiates the target class LOGIT (never a saturated softmax) with respect to the
raw input pixels in [0, 255]; see ``saliency.py`` for the batched, compiled core.
"""

from zoo.explain.gradcam import GradCam, default_layer
from zoo.explain.methods import (
    ALL_METHODS,
    METHODS,
    Explainer,
    Explanation,
    resolve_methods,
    resolve_targets,
)
from zoo.explain.saliency import GradientEngine, attribution_heatmap, to_heatmap

__all__ = [
    "ALL_METHODS",
    "METHODS",
    "Explainer",
    "Explanation",
    "GradCam",
    "GradientEngine",
    "attribution_heatmap",
    "default_layer",
    "resolve_methods",
    "resolve_targets",
    "to_heatmap",
]

"""One entry point over all methods: names, targets, and an Explainer that caches compiled code."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from zoo.errors import InvalidArgumentError, UnknownNameError, close_matches_hint
from zoo.explain.saliency import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_NOISE,
    DEFAULT_SAMPLES,
    DEFAULT_STEPS,
    GradientEngine,
    attribution_heatmap,
    to_heatmap,
)

METHODS = ("gradient", "smoothgrad", "smoothgrad-squared", "integrated-gradients", "gradcam")
ALL_METHODS = ("gradient", "smoothgrad", "integrated-gradients", "gradcam")  # what `--method all` draws
ALIASES = {"ig": "integrated-gradients", "grad-cam": "gradcam", "vanilla": "gradient", "sg": "smoothgrad",
           "smoothgrad2": "smoothgrad-squared", "integrated_gradients": "integrated-gradients",
           "smoothgrad_squared": "smoothgrad-squared"}
TITLES = {
    "gradient": "Gradient",
    "smoothgrad": "SmoothGrad",
    "smoothgrad-squared": "SmoothGrad²",
    "integrated-gradients": "Integrated Gradients",
    "gradcam": "Grad-CAM",
}


def resolve_methods(method: str) -> list[str]:
    """'all' -> the four methods; a name or alias -> [name]; else an UnknownNameError with close matches."""
    key = str(method).strip().lower()
    if key == "all":
        return list(ALL_METHODS)
    key = ALIASES.get(key, key)
    if key not in METHODS:
        raise UnknownNameError(
            f"Unknown explanation method {method!r}." + close_matches_hint(key, (*METHODS, "all"))
        )
    return [key]


def resolve_targets(target, predicted, labels, class_names) -> np.ndarray:
    """The class index to explain for each image.

    ``target``: None/"predicted" (the model's top class), "true" (the dataset label), a class name
    from ``class_names`` or a class index.
    """
    predicted = np.asarray(predicted, dtype="int64")
    key = "predicted" if target is None else str(target).strip()
    if key.lower() in ("predicted", "pred"):
        return predicted
    if key.lower() in ("true", "label"):
        if labels is None:
            raise InvalidArgumentError(
                "--target true needs labelled images: use --dataset, or pick --target predicted or a class name."
            )
        return np.asarray(labels, dtype="int64")
    if key in class_names:
        return np.full_like(predicted, class_names.index(key))
    lowered = [c.lower() for c in class_names]
    if key.lower() in lowered:
        return np.full_like(predicted, lowered.index(key.lower()))
    if key.lstrip("-").isdigit():
        index = int(key)
        if not 0 <= index < len(class_names):
            raise InvalidArgumentError(
                f"--target {index} is not a class index of this model; it has classes 0..{len(class_names) - 1}."
            )
        return np.full_like(predicted, index)
    raise UnknownNameError(
        f"The model has no class {key!r} (--target takes predicted, true, a class name or an index)."
        + close_matches_hint(key, class_names)
    )


@dataclass
class Explanation:
    """Maps of one method for N images."""

    method: str
    heatmaps: np.ndarray  # (N, H, W), non-negative: what is drawn and what the sanity check ranks
    attributions: np.ndarray | None = None  # (N, H, W, C) signed gradients / IG attributions
    info: dict = field(default_factory=dict)  # e.g. IG's completeness gap, Grad-CAM's layer


class Explainer:
    """All methods for one model; compiled functions are built once and reused."""

    def __init__(self, model, *, batch_size: int = DEFAULT_BATCH_SIZE, layer: str | None = None,
                 registry_last_conv: str | None = None, samples: int = DEFAULT_SAMPLES,
                 noise: float = DEFAULT_NOISE, steps: int = DEFAULT_STEPS, seed: int = 0):
        from zoo.explain.saliency import check_noise, check_samples, check_steps

        check_samples(samples)
        check_noise(noise)
        check_steps(steps)
        self.model = model
        self.engine = GradientEngine(model, batch_size)
        self.batch_size = batch_size
        self.layer = layer
        self.registry_last_conv = registry_last_conv
        self.samples, self.noise, self.steps, self.seed = samples, noise, steps, seed
        self._gradcam = None

    @property
    def gradcam_layer(self) -> str:
        from zoo.explain.gradcam import check_layer, default_layer
        from zoo.inputs import unwrap

        inner, _ = unwrap(self.model)  # Grad-CAM weighs the layers of the model itself, not the scaling
        if self.layer:
            return check_layer(inner, self.layer)
        return default_layer(inner, self.registry_last_conv)

    def explain(self, method: str, images, targets) -> Explanation:
        methods = resolve_methods(method)
        if len(methods) != 1:
            raise InvalidArgumentError("explain() takes one method; loop over resolve_methods('all').")
        method = methods[0]
        e = self.engine
        if method == "gradient":
            g = e.gradient(images, targets)
            return Explanation(method, to_heatmap(g), g)
        if method in ("smoothgrad", "smoothgrad-squared"):
            squared = method == "smoothgrad-squared"
            g = e.smoothgrad(images, targets, samples=self.samples, noise=self.noise, squared=squared, seed=self.seed)
            # the squared form is already non-negative: max over channels of mean(g^2)
            maps = g.max(axis=-1) if squared else to_heatmap(g)
            return Explanation(method, maps, g, {"samples": self.samples, "noise": self.noise})
        if method == "integrated-gradients":
            attr, gap = e.integrated_gradients(images, targets, steps=self.steps)
            return Explanation(method, attribution_heatmap(attr), attr,
                               {"steps": self.steps, "baseline": "black", "completeness_gap": gap})
        if self._gradcam is None:
            from zoo.explain.gradcam import GradCam

            self._gradcam = GradCam(self.model, self.gradcam_layer, self.batch_size)
        return Explanation(method, self._gradcam(images, targets), None, {"layer": self._gradcam.layer})

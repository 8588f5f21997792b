"""One entry point over all explain methods: targets, and an Explainer that caches compiled code.

The methods themselves are records in ``zoo.explain.registry``, one file each in
``zoo/explain/methods/``; ``Explainer.explain`` dispatches through them.
"""

from __future__ import annotations

import numpy as np

from zoo import checks
from zoo.errors import InvalidArgumentError
from zoo.explain.registry import EXPLAIN_METHODS, Explanation, check_settings, resolve_methods
from zoo.explain.saliency import DEFAULT_BATCH_SIZE, GradientEngine

__all__ = ["ALL_METHODS", "METHODS", "TITLES", "Explainer", "Explanation", "resolve_methods", "resolve_targets"]

METHODS = EXPLAIN_METHODS.names()
ALL_METHODS = tuple(resolve_methods("all"))  # what `--method all` draws
TITLES = {name: m.title for name, m in EXPLAIN_METHODS.records().items()}


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
    return np.full_like(predicted, checks.class_index(key, class_names, keywords=("predicted", "true")))


class Explainer:
    """All methods for one model; compiled functions are built once and reused.

    ``settings`` are the methods' own: a bare name (``steps=20``) for every method that has it,
    ``**{"integrated-gradients.steps": 20}`` or ``occlusion={"patch": 4}`` for one method (see
    ``zoo.explain.registry.check_settings``). ``registry_last_conv`` is the model registry's
    Grad-CAM layer for the run's model, when the caller knows it.
    """

    def __init__(self, model, *, batch_size: int = DEFAULT_BATCH_SIZE, registry_last_conv: str | None = None,
                 seed: int = 0, **settings):
        self.options = check_settings(**settings)  # {method: {setting: value}}
        self.model = model
        self.engine = GradientEngine(model, batch_size)
        self.batch_size = batch_size
        self.registry_last_conv = registry_last_conv
        self.seed = seed
        self.cache: dict = {}  # what a method builds once per model (Grad-CAM's feature model)

    def settings_of(self, method: str) -> dict:
        """One method's settings, checked, its own defaults filled in."""
        return dict(self.options[EXPLAIN_METHODS.get(method).name])

    @property
    def gradcam_layer(self) -> str:
        """The layer Grad-CAM weighs (its ``layer`` setting, else the registry's last conv layer)."""
        from zoo.explain.gradcam import resolve_layer

        return resolve_layer(self.model, self.options.get("gradcam", {}).get("layer"), self.registry_last_conv)

    def prepare(self, methods) -> None:
        """Each method's check of what it needs from the model (Grad-CAM's layer), before any work."""
        for name in methods:
            record = EXPLAIN_METHODS.get(name)
            if record.prepare is not None:
                record.prepare(self, self.options[record.name])

    def explain(self, method: str, images, targets) -> Explanation:
        if str(method).strip().lower() == "all":
            raise InvalidArgumentError("explain() takes one method; loop over resolve_methods('all').")
        record = EXPLAIN_METHODS.get(method)
        return record.compute(self, images, targets, self.settings_of(record.name))

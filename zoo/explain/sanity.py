"""Sanity check for saliency maps: cascading model randomisation (Adebayo et al. 2018).

Re-initialise the weights layer by layer from the logits down (on a clone: the caller's model is
never touched) and recompute the maps after each step. A method that explains the *model* must
change as the model is destroyed: the Spearman rank correlation between the original and the
randomised maps should fall towards 0. Maps that stay highly correlated after every layer is
random reflect the input (edges, the digit's ink), not what the network learned.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from zoo.progress import SILENT

SURVIVAL_THRESHOLD = 0.5  # mean Spearman rho after full randomisation at or above this: warn


@dataclass
class SanityResult:
    """One method's cascade."""

    method: str
    steps: list[str]  # "original", then the layers re-initialised so far, top (logits) first
    correlations: np.ndarray  # (len(steps), N) Spearman rho of each image's map vs the original
    maps: np.ndarray  # (len(steps), N, H, W) the maps at each step (for the figure)
    threshold: float = SURVIVAL_THRESHOLD

    @property
    def mean_correlations(self) -> np.ndarray:
        return self.correlations.mean(axis=1)

    @property
    def final_correlation(self) -> float:
        return float(self.mean_correlations[-1])

    @property
    def survived(self) -> bool:
        """True when the maps barely changed although every layer is random: the method fails."""
        return self.final_correlation >= self.threshold


def rank_correlation(a, b) -> np.ndarray:
    """Spearman rho between matching rows of ``a`` and ``b`` (N, ...), vectorised over rows.

    A constant map (e.g. an all-zero Grad-CAM) has no ranking: its rho is 0, not NaN.
    """
    from scipy.stats import rankdata

    ra = rankdata(np.asarray(a, dtype="float64").reshape(len(a), -1), axis=1)
    rb = rankdata(np.asarray(b, dtype="float64").reshape(len(b), -1), axis=1)
    ra -= ra.mean(axis=1, keepdims=True)
    rb -= rb.mean(axis=1, keepdims=True)
    denom = np.sqrt((ra * ra).sum(1) * (rb * rb).sum(1))
    with np.errstate(invalid="ignore", divide="ignore"):
        rho = (ra * rb).sum(1) / denom
    return np.where(denom > 0, rho, 0.0)


def randomisation_order(model) -> list[str]:
    """Layers with learned weights, from the output down (the cascade's order).

    Frozen layers count (a transfer run's whole base is frozen); the input ``Normalization`` does
    not: its statistics describe the data, not what the model learned.
    """
    import keras

    return [layer.name for layer in reversed(model.layers)
            if layer.weights and not isinstance(layer, keras.layers.Normalization)]


def _copy_weights(target_layer, source_layer) -> None:
    target_layer.set_weights(source_layer.get_weights())
    # Normalization keeps constant copies of its statistics; refresh them after set_weights
    if hasattr(target_layer, "finalize_state"):
        target_layer.finalize_state()


def cascading_randomisation(model, images, targets, methods, *, seed: int = 0, registry_last_conv=None,
                            batch_size=64, threshold: float = SURVIVAL_THRESHOLD, progress=None,
                            **settings) -> dict[str, SanityResult]:
    """Run the cascade for each method; ``targets`` stay the original model's classes throughout.

    ``settings`` are the methods' (``samples``, ``steps``, ``layer`` ..., as ``Explainer`` takes them).

    ``progress`` (a ``zoo.progress.Progress``) hears each step before it runs: "randomised: NAME".
    """
    import keras

    from zoo.explain.explainer import Explainer

    # offset the seed: a model built (untrained) with seed s must not be "re-initialised" to itself
    keras.utils.set_random_seed((seed * 7919 + 104_729) % 2**31)
    # a fresh clone supplies re-initialised weights (each layer's own initialisers) ...
    fresh = keras.models.clone_model(model)
    # ... and a second clone with the trained weights is the one we destroy
    work = keras.models.clone_model(model)
    for copy in work.layers:
        if copy.weights:
            _copy_weights(copy, model.get_layer(copy.name))
    explainer = Explainer(work, batch_size=batch_size, registry_last_conv=registry_last_conv, seed=seed,
                          **settings)
    order = randomisation_order(work)

    def all_maps():
        return {m: explainer.explain(m, images, targets).heatmaps for m in methods}

    progress = progress or SILENT
    progress.step(0, len(order), "randomised: original")
    original = all_maps()
    history = {m: [original[m]] for m in methods}
    for done, name in enumerate(order):
        progress.step(done, len(order), f"randomised: {name}")
        _copy_weights(work.get_layer(name), fresh.get_layer(name))
        for m, maps in all_maps().items():
            history[m].append(maps)
    results = {}
    for m in methods:
        maps = np.stack(history[m])
        rho = np.stack([rank_correlation(original[m], step) for step in maps])
        results[m] = SanityResult(m, ["original", *order], rho, maps, threshold)
    return results

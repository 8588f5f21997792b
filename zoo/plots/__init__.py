"""Every figure the CLI writes. Matplotlib's object API with the Agg canvas: no pyplot state.

One module per feature (training.py, data.py, explain.py, attack.py, ensemble.py); shared helpers
live in common.py. For notebooks, ``zoo.plots.heatmaps``, ``adversarial``, ``robustness``,
``curves`` and ``confusion`` (figures.py) return the same figures as ``matplotlib.figure.Figure``
objects drawn from what the Python API returns.
"""

import importlib

_FIGURES = ("adversarial", "confusion", "curves", "heatmaps", "robustness")
__all__ = list(_FIGURES)


def __getattr__(name):
    if name in _FIGURES:
        return getattr(importlib.import_module("zoo.plots.figures"), name)
    raise AttributeError(f"module 'zoo.plots' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_FIGURES))

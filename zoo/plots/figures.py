"""Figures for notebooks: each returns a matplotlib ``Figure`` (shown inline when it ends a cell).

They draw with the same functions as the CLI's PNGs (``zoo explain``, ``zoo attack``, ``zoo train``,
``zoo eval``), from what the Python API returns; ``fig.savefig("x.png")`` writes one.

    import zoo
    x, y, names = zoo.load_data("fashion_mnist", "test", n=8)
    zoo.plots.heatmaps(zoo.explain("simplenet", x, "gradcam"))
"""

from __future__ import annotations

import numpy as np

__all__ = ["adversarial", "confusion", "curves", "heatmaps", "robustness"]


def _png(fig) -> bytes:
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    return buf.getvalue()


def _inline(fig):
    """Make IPython show ``fig`` as a PNG when a cell returns it (figures here use no pyplot state)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return fig
    shell = get_ipython()
    if shell is not None and hasattr(shell, "display_formatter"):
        from matplotlib.figure import Figure

        formatter = shell.display_formatter.formatters["image/png"]
        if Figure not in formatter.type_printers:
            formatter.for_type(Figure, _png)
    return fig


def heatmaps(saliency, n: int = 8, *, title: str | None = None):
    """Input, heatmap and overlay per image for a ``zoo.explain`` result (red caption: misclassified).

    >>> import zoo
    >>> x, y, _ = zoo.load_data("fashion_mnist", "test", n=4)
    >>> fig = zoo.plots.heatmaps(zoo.explain("simplenet", x, "gradcam", y=y))
    """
    from zoo.explain.registry import EXPLAIN_METHODS
    from zoo.plots.explain import image_caption, plot_method_grid

    s = saliency
    k = min(int(n), len(s.images))
    names = s.class_names
    captions = [image_caption(None if s.labels is None else names[s.labels[i]], names[s.predicted[i]],
                              float(s.confidence[i]), names[s.targets[i]]) for i in range(k)]
    mistakes = None if s.labels is None else list(np.asarray(s.predicted[:k]) != np.asarray(s.labels[:k]))
    method = EXPLAIN_METHODS.get(s.method)
    heading = title or method.title + (method.describe(s.info) if method.describe else "")
    return _inline(plot_method_grid(s.images[:k], s.heatmaps[:k], captions, None, title=heading, mistakes=mistakes))


def adversarial(result, rows: int = 6):
    """Rows of (original, amplified perturbation, adversarial) for a ``zoo.attack`` result.

    >>> import zoo
    >>> x, y, _ = zoo.load_data("fashion_mnist", "test", n=8)
    >>> fig = zoo.plots.adversarial(zoo.attack("simplenet", x, y, "fgsm", eps=8), rows=3)
    """
    from zoo.plots.attack import plot_examples

    r = result
    return _inline(plot_examples(r.images, r.adversarial, r.labels, r.clean_logits, r.logits, r.class_names,
                                 eps=r.eps, method=r.method, path=None, rows=rows))


def robustness(result, *, title: str | None = None):
    """Accuracy against eps (and the random-noise baseline) for a ``zoo.attack`` result with several eps.

    >>> import zoo
    >>> x, y, _ = zoo.load_data("fashion_mnist", "test", n=16)
    >>> fig = zoo.plots.robustness(zoo.attack("simplenet", x, y, "fgsm", eps=[2, 8]))
    """
    from zoo.plots.attack import plot_accuracy_vs_eps

    return _inline(plot_accuracy_vs_eps(result.report, None, title=title))


def curves(history, *, title: str | None = None):
    """Loss, accuracy and learning rate per epoch: a ``zoo.train`` result or its ``.history`` rows.

    >>> import zoo
    >>> fig = zoo.plots.curves([{"epoch": 0, "loss": 0.9, "accuracy": 0.7}, {"epoch": 1, "loss": 0.5, "accuracy": 0.8}])
    """
    from zoo.plots.training import plot_curves

    rows = getattr(history, "history", history)
    return _inline(plot_curves(list(rows), None, title=title))


def confusion(metrics, *, title: str | None = None):
    """The row-normalised confusion matrix of a ``zoo.evaluate`` result.

    >>> import zoo
    >>> x, y, _ = zoo.load_data("fashion_mnist", "test", n=64)
    >>> fig = zoo.plots.confusion(zoo.evaluate("simplenet", x, y))
    """
    from zoo.plots.training import plot_confusion

    heading = title or f"accuracy {metrics['accuracy']:.2%}" + (
        f" (TTA {metrics['tta']})" if metrics.get("tta", "none") != "none" else "")
    return _inline(plot_confusion(metrics["confusion_matrix"], metrics["class_names"], None, title=heading))

"""Figures of `zoo attack`: accuracy versus eps, example grid, transfer matrix."""

from __future__ import annotations

import numpy as np

from zoo.attack.registry import ATTACKS
from zoo.plots.common import new_figure, save_figure, show_image


def _style(method: str) -> tuple[str, str]:
    """(colour, marker) of an attack's curve, from its record (an unknown name: black crosses)."""
    record = ATTACKS.records().get(method)
    return record.style if record is not None else ("black", "x")


def plot_accuracy_vs_eps(report: dict, path, title: str | None = None, extra_curves=None,
                         main_label: str | None = None):
    """Robust accuracy per method against eps, with the random-noise baseline at the same eps.

    ``extra_curves``: optional {label: report} of other models, drawn dotted and lighter (e.g. the
    normally trained model next to an adversarially trained one); ``main_label`` names ``report``.
    """
    fig = new_figure(7.0, 4.6)
    ax = fig.add_subplot(1, 1, 1)
    main = f" ({main_label})" if main_label and extra_curves else ""
    curves = [(main, report, "-", 1.0)] + [(f" ({label})", rep, ":", 0.55) for label, rep in (extra_curves or {}).items()]
    max_eps = 1.0
    for suffix, rep, style, alpha in curves:
        clean = rep["clean"]["accuracy"]
        for method, rows in rep["results"].items():
            color, marker = _style(method)
            eps = [0.0] + [r["eps"] for r in rows]
            acc = [clean] + [r["robust_accuracy"] for r in rows]
            max_eps = max(max_eps, eps[-1])
            ax.plot(eps, acc, style, color=color, marker=marker, alpha=alpha, label=f"{method.upper()}{suffix}")
    # the noise baseline of the main model only: overlays would clutter the figure
    noise = report["noise_baseline"]["rows"]
    ax.plot([0.0] + [r["eps"] for r in noise], [report["clean"]["accuracy"]] + [r["accuracy"] for r in noise],
            "--", color="tab:gray", marker=".", label=f"random ±eps sign noise{main}")
    ax.set_xlabel("eps (L-inf, pixel levels out of 255)")
    ax.set_ylabel("accuracy")
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlim(-0.02 * max_eps, 1.02 * max_eps)
    ax.grid(True, alpha=0.3)
    samples = report.get("samples")
    ax.set_title(title or f"Accuracy under attack ({samples} examples)", fontsize=11)
    ax.legend(fontsize=8, loc="best")
    secondary = ax.secondary_xaxis("top", functions=(lambda e: e / 255.0, lambda u: u * 255.0))
    secondary.set_xlabel("eps as a fraction of the pixel range", fontsize=8)
    secondary.tick_params(labelsize=7)
    save_figure(fig, path)
    return fig


def _confidence(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=-1, keepdims=True)
    p = np.exp(z)
    return p / p.sum(axis=-1, keepdims=True)


def plot_examples(images, adversarial, labels, clean_logits, adv_logits, class_names, *, eps: float,
                  method: str = "", path=None, rows: int = 6):
    """Rows of (original, amplified perturbation, adversarial) with predictions and confidences."""
    rows = max(1, min(rows, len(images)))
    fig = new_figure(6.6, 2.15 * rows + 0.4, dpi=100)
    p_clean, p_adv = _confidence(clean_logits[:rows]), _confidence(adv_logits[:rows])
    for i in range(rows):
        delta = adversarial[i].astype("float64") - images[i]
        scale = max(float(np.abs(delta).max()), 1e-12)
        amplified = 127.5 + 127.5 * delta / scale  # gray = unchanged, white = brighter, black = darker
        c, a, y = int(p_clean[i].argmax()), int(p_adv[i].argmax()), int(labels[i])
        ax = fig.add_subplot(rows, 3, 3 * i + 1)
        show_image(ax, images[i])
        ax.set_title(f"true: {class_names[y]}\npred: {class_names[c]} ({p_clean[i, c]:.0%})", fontsize=9,
                     color="black" if c == y else "tab:red")
        ax = fig.add_subplot(rows, 3, 3 * i + 2)
        show_image(ax, amplified)
        ax.set_title(f"perturbation x{127.5 / scale:.1f}\nmax |δ| = {np.abs(delta).max():.1f}", fontsize=9)
        ax = fig.add_subplot(rows, 3, 3 * i + 3)
        show_image(ax, adversarial[i])
        ax.set_title(f"adversarial\npred: {class_names[a]} ({p_adv[i, a]:.0%})", fontsize=9,
                     color="black" if a == y else "tab:red")
    fig.suptitle(f"{method.upper()} at eps = {eps:g}/255 (red: wrong prediction)\n"
                 "perturbation: gray = unchanged, white = brighter, black = darker", fontsize=10)
    fig.tight_layout()
    save_figure(fig, path)
    return fig


def plot_transfer(transfer: dict, path, method: str) -> None:
    """Heat map: accuracy of each model (rows) on examples crafted on the first model, per eps."""
    models, eps, acc = transfer["models"], transfer["eps"], np.asarray(transfer["accuracy"])
    fig = new_figure(1.2 + 0.9 * len(eps), 1.2 + 0.55 * len(models))
    ax = fig.add_subplot(1, 1, 1)
    im = ax.imshow(acc, vmin=0, vmax=1, cmap="RdYlGn", aspect="auto")
    ax.set_xticks(range(len(eps)), ["clean" if e == 0 else f"{e:g}" for e in eps])
    labels = [f"{m} (source)" if i == 0 else m for i, m in enumerate(models)]
    ax.set_yticks(range(len(models)), labels, fontsize=8)
    ax.set_xlabel("eps (pixel levels out of 255)")
    for i in range(acc.shape[0]):
        for j in range(acc.shape[1]):
            ax.text(j, i, f"{acc[i, j]:.0%}", ha="center", va="center", fontsize=8)
    ax.set_title(f"Accuracy on {method.upper()} examples crafted on {models[0]}", fontsize=10)
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="accuracy")
    save_figure(fig, path)


def plot_transfer_matrix(matrices: dict, path, *, eps: float) -> None:
    """One heat map per method: accuracy of each model (columns) on examples crafted on each (rows).

    ``matrices`` maps a method to ``(names, accuracy)``, accuracy[i][j] = model j on model i's
    examples; the diagonal is the white-box attack, the rest is transfer.
    """
    methods = list(matrices)
    n = len(next(iter(matrices.values()))[0])
    fig = new_figure(0.6 + (1.4 + 0.75 * n) * len(methods), 1.6 + 0.6 * n)
    axes = fig.subplots(1, len(methods), squeeze=False)[0]
    for k, (ax, method) in enumerate(zip(axes, methods)):
        names, acc = matrices[method]
        acc = np.asarray(acc)
        im = ax.imshow(acc, vmin=0, vmax=1, cmap="RdYlGn")
        ax.set_xticks(range(n), names, rotation=35, ha="right", fontsize=8)
        ax.set_yticks(range(n), names if k == 0 else [""] * n, fontsize=8)  # rows named once, at the left
        ax.set_xlabel("evaluated on")
        if k == 0:
            ax.set_ylabel("crafted on")
        for i in range(n):
            for j in range(n):
                ax.text(j, i, f"{acc[i, j]:.0%}", ha="center", va="center", fontsize=8,
                        fontweight="bold" if i == j else "normal")
        ax.set_title(f"{method.upper()}, eps {eps:g}/255", fontsize=10)
    fig.colorbar(im, ax=list(axes), fraction=0.03, pad=0.02, label="accuracy (diagonal: white-box)")
    save_figure(fig, path)

"""Figures of a training run: learning curves and the confusion matrix."""

from __future__ import annotations

import math

import numpy as np

from zoo.plots.common import new_figure, save_figure


def _column(rows, key):
    vals = []
    for r in rows:
        v = r.get(key)
        try:
            vals.append(float(v))
        except (TypeError, ValueError):
            vals.append(math.nan)
    return np.asarray(vals, dtype=float)


def plot_curves(rows: list[dict], path, title: str | None = None):
    """Loss, accuracy and learning rate against epoch (1-based), train and validation."""
    epochs = np.asarray([int(r["epoch"]) + 1 for r in rows]) if rows else np.zeros(0)
    fig = new_figure(13.5, 4.0)
    axes = fig.subplots(1, 3)
    for ax, key, label in ((axes[0], "loss", "loss"), (axes[1], "accuracy", "accuracy")):
        for prefix, style, name in (("", "-o", "train"), ("val_", "-s", "validation")):
            y = _column(rows, prefix + key)
            if len(y) and not np.all(np.isnan(y)):
                ax.plot(epochs, y, style, markersize=3, label=name)
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.set_title(label)
        ax.grid(True, alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(loc="upper right" if key == "loss" else "lower right")
    lr = _column(rows, "learning_rate")
    ax = axes[2]
    if len(lr) and not np.all(np.isnan(lr)):
        ax.plot(epochs, lr, "-o", markersize=3, color="tab:green")
        if np.nanmin(lr) > 0 and np.nanmax(lr) / np.nanmin(lr) > 20:
            ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("learning rate (at epoch start)")
    ax.ticklabel_format(axis="y", useOffset=False) if ax.get_yscale() == "linear" else None
    ax.set_title("learning rate")
    ax.grid(True, alpha=0.3)
    for a in axes:
        if len(epochs) and len(epochs) <= 20:
            a.set_xticks(epochs)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    save_figure(fig, path)
    return fig


def plot_confusion(cm, class_names, path, title: str | None = None):
    """Row-normalised confusion matrix (recall per true class) with counts in the cells."""
    cm = np.asarray(cm, dtype=float)
    k = cm.shape[0]
    rows = cm.sum(axis=1, keepdims=True)
    norm = np.divide(cm, rows, out=np.zeros_like(cm), where=rows > 0)
    size = min(max(5.0, 0.55 * k + 2.5), 22.0)
    fig = new_figure(size + 1.0, size)
    ax = fig.add_subplot(1, 1, 1)
    im = ax.imshow(norm, cmap="Blues", vmin=0.0, vmax=1.0)
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="fraction of true class")
    labels = [str(n) for n in class_names]
    if k <= 40:
        ax.set_xticks(range(k))
        ax.set_yticks(range(k))
        ax.set_xticklabels(labels, rotation=45, ha="right", fontsize=8)
        ax.set_yticklabels(labels, fontsize=8)
    if k <= 20:
        for i in range(k):
            for j in range(k):
                if cm[i, j]:
                    ax.text(j, i, f"{int(cm[i, j])}", ha="center", va="center", fontsize=7,
                            color="white" if norm[i, j] > 0.5 else "black")
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(title or "confusion matrix")
    fig.tight_layout()
    save_figure(fig, path)
    return fig


def plot_compare_curves(runs: list[tuple[str, list[dict]]], path, title: str | None = None) -> None:
    """Several runs' curves overlaid: validation (solid) and training (dashed) accuracy and loss."""
    fig = new_figure(12.0, 4.2)
    axes = fig.subplots(1, 2)
    colours = [f"C{i % 10}" for i in range(len(runs))]
    for (label, rows), colour in zip(runs, colours):
        epochs = np.asarray([int(r["epoch"]) + 1 for r in rows])
        for ax, key in zip(axes, ("accuracy", "loss")):
            val, train = _column(rows, "val_" + key), _column(rows, key)
            if len(val) and not np.all(np.isnan(val)):
                ax.plot(epochs, val, "-", color=colour, label=f"{label} (val)")
            if len(train) and not np.all(np.isnan(train)):
                ax.plot(epochs, train, "--", color=colour, alpha=0.6, linewidth=1, label=f"{label} (train)")
    for ax, key in zip(axes, ("accuracy", "loss")):
        ax.set_xlabel("epoch")
        ax.set_ylabel(key)
        ax.set_title(f"{key}: validation solid, training dashed")
        ax.grid(True, alpha=0.3)
    axes[0].legend(fontsize=7, loc="lower right")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    save_figure(fig, path)

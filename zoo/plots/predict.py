"""`zoo predict`'s contact sheet: each image at its own aspect ratio, its top classes under it."""

from __future__ import annotations

import math

import numpy as np

from zoo.plots.common import new_figure, save_figure

SHOWN = 3  # classes listed under each image


def plot_contact_sheet(files, predictions, path, *, channels: int, title: str, columns: int | None = None) -> None:
    from zoo.explain.images import open_image

    n = len(files)
    cols = columns or min(n, 6)
    rows = math.ceil(n / cols)
    cell_w, cell_h = 1.9, 2.5
    fig = new_figure(cols * cell_w, rows * cell_h + 0.4)
    for i, (f, pred) in enumerate(zip(files, predictions)):
        ax = fig.add_subplot(rows, cols, i + 1)
        img = np.asarray(open_image(f, 3))  # shown in colour as it is, not as the model's input
        ax.imshow(img, aspect="equal")  # keeps the image's own aspect ratio
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(_short(f.name), fontsize=7)
        lines = [f"{p:6.1%}  {c}" for c, p in pred.top[:SHOWN]]
        ax.set_xlabel("\n".join(lines), fontsize=7, family="monospace", loc="left")
        if channels == 1:
            ax.text(0.98, 0.02, "model sees grey", transform=ax.transAxes, fontsize=5, ha="right",
                    color="white", bbox={"facecolor": "black", "alpha": 0.4, "pad": 1, "linewidth": 0})
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    save_figure(fig, path)


def _short(name: str, width: int = 24) -> str:
    return name if len(name) <= width else name[: width - 3] + "..."

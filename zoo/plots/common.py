"""Shared figure helpers: a Figure without pyplot, and an atomic PNG save."""

from __future__ import annotations

from zoo.io import atomic_path


def new_figure(width: float = 6.4, height: float = 4.8, dpi: int = 110):
    """A matplotlib Figure with an Agg canvas (thread-safe, no global pyplot state)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=dpi)
    FigureCanvasAgg(fig)
    return fig


def save_figure(fig, path) -> None:
    """Write ``fig`` as PNG to ``path`` atomically (``path`` None: keep it in memory only)."""
    if path is None:
        return
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", bbox_inches="tight")


def show_image(ax, image, title: str | None = None, cmap=None, **kwargs) -> None:
    """Draw an HxWxC (C=1 or 3) pixel image in [0, 255] on ``ax`` without ticks."""
    import numpy as np

    img = np.asarray(image)
    if img.ndim == 3 and img.shape[-1] == 1:
        img = img[..., 0]
        cmap = cmap or "gray"
    if img.ndim == 3:
        img = np.clip(img, 0, 255).astype("uint8")
        ax.imshow(img, **kwargs)
    else:
        ax.imshow(img, cmap=cmap, **({"vmin": 0, "vmax": 255} | kwargs) if cmap == "gray" else kwargs)
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=8)

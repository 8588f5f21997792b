"""Dataset figures: the same images before and after augmentation."""

from __future__ import annotations

import numpy as np

from zoo.plots.common import new_figure, save_figure, show_image


def augmentation_grid(originals, augmented, labels, class_names, path, *, title: str | None = None,
                      columns: int = 8) -> None:
    """Rows of originals, each followed by a row of the same images augmented; class names on top.

    ``augmented`` is one array (N,H,W,C) or a list of them (several random draws, one row each).
    """
    originals = np.asarray(originals)
    draws = [np.asarray(a) for a in (augmented if isinstance(augmented, (list, tuple)) else [augmented])]
    n = len(originals)
    columns = max(1, min(columns, n))
    chunks = -(-n // columns)
    rows_per_chunk = 1 + len(draws)
    rows = chunks * rows_per_chunk
    cell = 1.25
    fig = new_figure(width=cell * columns + 1.0, height=cell * rows * 1.12 + (0.5 if title else 0.1), dpi=110)
    grid = fig.add_gridspec(rows, columns, hspace=0.35, wspace=0.08)
    for chunk in range(chunks):
        for col in range(columns):
            i = chunk * columns + col
            for r, (row_images, kind) in enumerate([(originals, "original")] + [(d, "augmented") for d in draws]):
                ax = fig.add_subplot(grid[chunk * rows_per_chunk + r, col])
                if i >= n:
                    ax.axis("off")
                    continue
                label_title = _class_name(labels[i], class_names) if r == 0 else None
                show_image(ax, row_images[i], title=label_title)
                if r > 0:  # a tinted frame tells augmented rows apart at a glance
                    for spine in ax.spines.values():
                        spine.set_edgecolor("tab:orange")
                        spine.set_linewidth(1.5)
                if col == 0:
                    ax.set_ylabel(kind, fontsize=8, color="tab:orange" if r else "black")
    if title:
        fig.suptitle(title, fontsize=10)
    save_figure(fig, path)


def _class_name(label, class_names) -> str:
    label = int(label)
    name = class_names[label] if 0 <= label < len(class_names) else str(label)
    return name if len(name) <= 14 else name[:13] + "…"


def preview_augmentation(dataset, out, *, augment="standard", n: int = 16, seed: int = 0, split: str = "train",
                         draws: int = 1, data_dir=None) -> int:
    """`zoo data preview`: a grid of ``n`` images of ``dataset`` before and after ``draws`` augmentations.

    Returns the number of images drawn.
    """
    from zoo import checks
    from zoo.data import build_augmentation, load_examples, parse_augmentation

    from zoo.io import check_output_file

    checks.int_between(n, "n", 1, 256)
    checks.int_between(draws, "draws", 1, 4)
    check_output_file(out, ".png", example="grid.png")
    parse_augmentation(augment)  # a typo fails before any data is read
    images, labels, class_names = load_examples(dataset, split=split, n=n, data_dir=data_dir, seed=seed)
    augmenter = build_augmentation(augment, images.shape[-1], seed)
    rows = [images if augmenter is None else augmenter(images, training=True).numpy() for _ in range(draws)]
    augmentation_grid(images, rows, labels, class_names, out, title=f"{dataset}: augment={augment} (seed {seed})")
    return len(images)

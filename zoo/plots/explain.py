"""Figures of `zoo explain`: heatmap grids, the sanity cascade, the first layer's kernels."""

from __future__ import annotations

import math

import numpy as np

from zoo.plots.common import new_figure, save_figure

HEAT_CMAP = "inferno"  # perceptually uniform, dark = unimportant: reads well on the white page
OVERLAY_CMAP = "jet"  # strong hue change on top of a gray image
CLIP_PERCENTILE = 99.0  # one saturated pixel must not wash out the whole map


def normalise_heatmap(heatmap, percentile: float = CLIP_PERCENTILE) -> np.ndarray:
    """Scale a non-negative (H, W) map to [0, 1], clipping at its ``percentile``."""
    h = np.asarray(heatmap, dtype="float64")
    top = np.percentile(h, percentile) if h.size else 0.0
    if not np.isfinite(top) or top <= 0:
        top = h.max() if h.size and h.max() > 0 else 1.0
    return np.clip(h / top, 0.0, 1.0)


def fit_to_image(heat, image) -> np.ndarray:
    """The map (computed on the model's square input) stretched back to the shown image's H x W.

    A non-square photo is resized to the model's input to be explained; shown at its own aspect,
    its map must be un-stretched the same way for the overlay to sit on the right pixels.
    """
    h, w = np.asarray(image).shape[:2]
    heat = np.asarray(heat, dtype="float32")
    if heat.shape == (h, w):
        return heat
    from PIL import Image

    return np.asarray(Image.fromarray(heat, mode="F").resize((w, h), Image.BILINEAR), dtype="float32")


def _gray(image) -> np.ndarray:
    img = np.asarray(image, dtype="float64")
    return img[..., 0] if img.shape[-1] == 1 else img.mean(axis=-1)


def _draw_input(ax, image):
    img = np.asarray(image)
    if img.shape[-1] == 1:
        ax.imshow(img[..., 0], cmap="gray", vmin=0, vmax=255)
    else:
        ax.imshow(np.clip(img, 0, 255).astype("uint8"))


def _draw_heatmap(ax, heat):
    ax.imshow(heat, cmap=HEAT_CMAP, vmin=0, vmax=1)


def _draw_overlay(ax, image, heat):
    import matplotlib

    # image in gray, heatmap on top with opacity growing with the saliency: salient parts pop out
    ax.imshow(_gray(image), cmap="gray", vmin=0, vmax=255 * 1.5)  # dimmed, so the colours stand out
    rgba = matplotlib.colormaps[OVERLAY_CMAP](heat)
    rgba[..., 3] = 0.75 * heat
    ax.imshow(rgba)


def _bare(ax):
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)


def image_caption(true_name, pred_name, prob, target_name=None) -> str:
    """'true Coat | pred Coat 93%' (+ 'for Shirt' when the explained class is neither)."""
    parts = []
    if true_name is not None:
        parts.append(f"true {true_name}")
    parts.append(f"pred {pred_name} {prob:.0%}")
    text = " | ".join(parts)
    if target_name is not None and target_name != pred_name:
        text += f"\nmap for {target_name}"
    return text


MISTAKE_COLOUR = "crimson"


def plot_method_grid(images, heatmaps, captions, path, *, title: str, panels_per_row: int | None = None,
                     mistakes=None):
    """One method: a panel (input, heatmap, overlay) per image, panels in a grid.

    ``images`` may differ in size (the files as they are, see ``zoo.explain.images.display_images``):
    each is drawn at its own aspect with its map fitted onto it.

    ``mistakes[i]`` True draws image i's caption in red (a misclassified example).
    """
    n = len(images)
    per_row = panels_per_row or max(1, min(4, math.ceil(math.sqrt(n))))
    rows = max(1, math.ceil(n / per_row))
    cell, gap = 1.3, 0.3  # inches; a narrow spacer column separates the panels
    n_lines = max(c.count("\n") + 1 for c in captions) if captions else 1
    fig = new_figure(width=per_row * (3 * cell + gap), height=rows * (cell + 0.22 + 0.14 * n_lines) + 0.2, dpi=110)
    grid = fig.add_gridspec(rows, 4 * per_row, width_ratios=[1, 1, 1, gap / cell] * per_row,
                            wspace=0.04, hspace=0.12 + 0.14 * n_lines,
                            top=1 - 0.3 / fig.get_figheight(), bottom=0.2 / fig.get_figheight(),
                            left=0.01, right=0.99)
    for k in range(n):
        r, c = divmod(k, per_row)
        heat = fit_to_image(normalise_heatmap(heatmaps[k]), images[k])
        axes = [fig.add_subplot(grid[r, 4 * c + j]) for j in range(3)]
        _draw_input(axes[0], images[k])
        _draw_heatmap(axes[1], heat)
        _draw_overlay(axes[2], images[k], heat)
        for ax in axes:
            _bare(ax)
        wrong = mistakes is not None and mistakes[k]
        axes[1].set_title(captions[k], fontsize=8, color=MISTAKE_COLOUR if wrong else "black")  # centred over the panel
        if r == rows - 1 or k + per_row >= n:
            for ax, label in zip(axes, ("input", "heatmap", "overlay")):
                ax.set_xlabel(label, fontsize=7, labelpad=2)
    note = "; red caption = misclassified" if mistakes is not None and any(mistakes) else ""
    fig.suptitle(f"{title}\nheatmaps clipped at the {CLIP_PERCENTILE:g}th percentile; bright = salient{note}",
                 fontsize=10, y=1.0, va="bottom")
    save_figure(fig, path)
    return fig


def plot_methods_side_by_side(images, explanations: dict, captions, path, *, titles: dict, mistakes=None,
                              heading: str = "Saliency per method"):
    """Several methods (or models): one row per image, the input then a (heatmap, overlay) pair each."""
    n, methods = len(images), list(explanations)
    cell, gap = 1.15, 0.25
    ratios = [1.0] + [gap / cell, 1.0, 1.0] * len(methods)
    fig = new_figure(width=cell * sum(ratios) + 1.3, height=n * cell * 1.06 + 0.3, dpi=110)
    height = fig.get_figheight()
    width = fig.get_figwidth()
    grid = fig.add_gridspec(n, len(ratios), width_ratios=ratios, wspace=0.04, hspace=0.06,
                            top=1 - 0.05 / height, bottom=0.02 / height, left=1.25 / width, right=1 - 0.02 / width)
    for i in range(n):
        ax = fig.add_subplot(grid[i, 0])
        _draw_input(ax, images[i])
        _bare(ax)
        wrong = mistakes is not None and mistakes[i]
        ax.set_ylabel(captions[i].replace(" | ", "\n"), fontsize=7, rotation=0, ha="right", va="center",
                      labelpad=4, color=MISTAKE_COLOUR if wrong else "black")
        if i == 0:
            ax.set_title("input", fontsize=9)
        for j, m in enumerate(methods):
            heat = fit_to_image(normalise_heatmap(explanations[m][i]), images[i])
            ax_h = fig.add_subplot(grid[i, 2 + 3 * j])
            ax_o = fig.add_subplot(grid[i, 3 + 3 * j])
            _draw_heatmap(ax_h, heat)
            _draw_overlay(ax_o, images[i], heat)
            _bare(ax_h)
            _bare(ax_o)
            if i == 0:  # one header centred over the method's pair of columns
                left, right = ax_h.get_position(), ax_o.get_position()
                fig.text((left.x0 + right.x1) / 2, left.y1 + 0.12 / fig.get_figheight(), titles[m],
                         ha="center", va="bottom", fontsize=9, fontweight="bold")
    note = "; red = misclassified" if mistakes is not None and any(mistakes) else ""
    fig.suptitle(f"{heading}: heatmap | overlay "
                 f"(each map clipped at its {CLIP_PERCENTILE:g}th percentile; bright = salient{note})",
                 fontsize=10, y=1.0 + 0.35 / height, va="bottom")
    save_figure(fig, path)
    return fig


def _two_lines(name: str, width: int = 12) -> str:
    """Break a long layer name at the underscore nearest its middle (column titles stay narrow)."""
    if len(name) <= width or "_" not in name:
        return name
    cut = min((i for i, ch in enumerate(name) if ch == "_"), key=lambda i: abs(i - len(name) / 2))
    return name[:cut] + "\n" + name[cut:]


MAX_SANITY_COLUMNS = 7  # deep models have dozens of steps: the strip shows evenly spaced ones


def plot_sanity(results: dict, path, *, titles: dict, image=None, example: int = 0):
    """Left: mean Spearman rho vs the number of randomised layers; right: one image's maps per step."""
    methods = list(results)
    steps = next(iter(results.values())).steps
    n_steps = len(steps)
    shown = np.unique(np.round(np.linspace(0, n_steps - 1, min(n_steps, MAX_SANITY_COLUMNS))).astype(int))
    cell = 1.0
    n_cols = len(shown) + (image is not None)
    fig = new_figure(width=5.5 + n_cols * cell + 0.8, height=max(5.0, len(methods) * cell + 1.4), dpi=110)
    left, right = fig.subfigures(1, 2, width_ratios=[5.5, n_cols * cell + 0.8], wspace=0.02)
    ax = left.subplots()
    longest = max(len(s) for s in steps)
    left.subplots_adjust(bottom=min(0.45, 0.16 + 0.014 * longest), left=0.15, right=0.97)
    x = np.arange(n_steps)
    for m in methods:
        r = results[m]
        mean = r.mean_correlations
        lo, hi = np.percentile(r.correlations, [10, 90], axis=1)
        line, = ax.plot(x, mean, marker="o", markersize=4 if n_steps > 12 else 6,
                        label=f"{titles[m]} ({mean[-1]:+.2f})")
        ax.fill_between(x, lo, hi, color=line.get_color(), alpha=0.15, linewidth=0)
    threshold = next(iter(results.values())).threshold
    ax.axhline(threshold, color="crimson", linestyle="--", linewidth=1)
    ax.text(x[-1], threshold + 0.02, "warn above", color="crimson", fontsize=7, ha="right", va="bottom")
    ax.axhline(0, color="gray", linewidth=0.6)
    every = max(1, math.ceil(n_steps / 12))  # at most ~12 labels, always the first and the last
    ticks = sorted(set(range(0, n_steps, every)) | {n_steps - 1})
    ax.set_xticks(ticks)
    ax.set_xticklabels(["original" if i == 0 else f"+{steps[i]}" for i in ticks], rotation=45, ha="right",
                       fontsize=7)
    ax.set_ylim(min(-0.3, float(min(r.mean_correlations.min() for r in results.values())) - 0.05), 1.05)
    ax.set_ylabel("Spearman rank correlation with original map")
    ax.set_xlabel(f"layers re-initialised (cumulative, from the top; {n_steps - 1} steps)", fontsize=9)
    ax.set_title("Cascading model randomisation (Adebayo et al. 2018)", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="best", title="method (final mean ρ)", title_fontsize=7, framealpha=0.9)
    first = 1 if image is not None else 0
    axes = np.atleast_2d(right.subplots(len(methods), len(shown) + first))
    for row, m in enumerate(methods):
        if image is not None:
            _draw_input(axes[row, 0], image)
            _bare(axes[row, 0])
            axes[row, 0].set_ylabel(titles[m].replace(" ", "\n"), fontsize=7)
            if row == 0:
                axes[row, 0].set_title("input", fontsize=7)
        for col, step in enumerate(shown):
            a = axes[row, col + first]
            _draw_heatmap(a, normalise_heatmap(results[m].maps[step, example]))
            _bare(a)
            if row == 0:
                a.set_title("original" if step == 0 else _two_lines(f"+{steps[step]}"), fontsize=7)
            if col == 0 and image is None:
                a.set_ylabel(titles[m].replace(" ", "\n"), fontsize=7)
    right.suptitle(f"maps of image {example} as layers are randomised", fontsize=9)
    save_figure(fig, path)


def plot_filters(layer_name: str, kernels, path):
    """Kernels (out, kh, kw, in) tiled into one mosaic; gray inputs on a diverging scale shared by all."""
    import matplotlib

    k = np.asarray(kernels, dtype="float64")
    n, kh, kw, cin = k.shape
    cols = min(n, 10 if n <= 40 else 16)
    rows = math.ceil(n / cols)
    colour = cin == 3
    pad = 1  # one blank pixel between kernels
    tile = np.full((rows * (kh + pad) - pad, cols * (kw + pad) - pad, 3 if colour else 1), np.nan)
    for i in range(n):
        r, c = divmod(i, cols)
        w = k[i]
        if colour:  # each kernel min-max scaled: only its own pattern matters
            w = (w - w.min()) / ((w.max() - w.min()) or 1.0)
        else:
            w = w.mean(axis=-1, keepdims=True)
        tile[r * (kh + pad):r * (kh + pad) + kh, c * (kw + pad):c * (kw + pad) + kw] = w
    scale = max(1.0, 6.0 / max(kh, kw)) * 0.55  # inches per kernel: small kernels still visible
    fig = new_figure(width=cols * scale + 1.4, height=rows * scale + 0.8, dpi=110)
    ax = fig.add_subplot()
    if colour:
        ax.imshow(np.where(np.isnan(tile), 1.0, tile), interpolation="nearest")
        what = "RGB, each kernel min-max scaled"
    else:
        limit = np.abs(k).max() or 1.0
        cmap = matplotlib.colormaps["RdBu_r"].with_extremes(bad="white")
        image = ax.imshow(np.ma.masked_invalid(tile[..., 0]), cmap=cmap, vmin=-limit, vmax=limit,
                          interpolation="nearest")
        fig.colorbar(image, ax=ax, shrink=0.8, pad=0.02, label="weight")
        what = "red = positive, blue = negative weight" + ("" if cin == 1 else f", mean over {cin} input channels")
    _bare(ax)
    ax.set_title(f"Learned kernels of {layer_name}: {n} x {kh}x{kw}, in reading order\n({what})", fontsize=10)
    save_figure(fig, path)

"""The zoo's own figure: test accuracy of each shipped model against its forward FLOPs."""

from __future__ import annotations

from zoo.plots.common import new_figure, save_figure


def plot_accuracy_vs_flops(rows, path, *, title: str) -> None:
    """``rows``: dicts with name, flops (one forward pass), accuracy, params; log-FLOPs on x."""
    fig = new_figure(6.4, 4.4)
    ax = fig.add_subplot(1, 1, 1)
    for row in rows:
        size = 30 + 250 * (row["params"] / max(r["params"] for r in rows))
        ax.scatter(row["flops"], row["accuracy"], s=size, alpha=0.75, edgecolor="black", linewidth=0.6)
        # a close neighbour just below would collide with the label: lift it above the marker
        crowded = any(r is not row and 0 < row["accuracy"] - r["accuracy"] < 0.006
                      and 0.4 < r["flops"] / row["flops"] < 2.5 for r in rows)
        ax.annotate(f"{row['name']}\n{row['accuracy']:.2%}", (row["flops"], row["accuracy"]),
                    textcoords="offset points", xytext=((size / 3.1416) ** 0.5 + 3, 6 if crowded else -4),
                    fontsize=8)
    ax.set_xscale("log")
    ax.set_xlabel("FLOPs per image, one forward pass (log scale; multiply-add = 2)")
    ax.set_ylabel("test accuracy")
    ax.set_title(title, fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    lo = min(r["accuracy"] for r in rows)
    ax.set_ylim(lo - 0.01, max(r["accuracy"] for r in rows) + 0.008)
    ax.set_xlim(min(r["flops"] for r in rows) / 2, max(r["flops"] for r in rows) * 6)
    ax.text(0.99, 0.02, "marker area ~ parameters", transform=ax.transAxes, ha="right", fontsize=7, color="gray")
    save_figure(fig, path)

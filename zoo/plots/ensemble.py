"""Ensemble figure: members vs the vote, the independence prediction, and how correlated errors are."""

from __future__ import annotations

import numpy as np

from zoo.plots.common import new_figure, save_figure


def plot_ensemble_report(report: dict, path) -> None:
    """Left: accuracy of each member, the soft average and the vote, with what the independence
    formula predicts for the vote. Right: pairwise error correlation (0 = independent errors)."""
    members = report["members"]
    m = len(members)
    fig = new_figure(11.0, 4.4)
    ax, ax2 = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.4, 1]})

    labels = [x["name"] for x in members] + ["soft avg", "vote", "vote if\nindependent"]
    accs = [x["accuracy"] for x in members] + [
        report["soft_accuracy"], report["vote_accuracy"], 1.0 - report["vote_error_if_independent"]]
    colors = ["#8da0cb"] * m + ["#66c2a5", "#fc8d62", "#d9d9d9"]
    pos = np.arange(len(labels))
    bars = ax.bar(pos, accs, color=colors, edgecolor="black", linewidth=0.6)
    for i in (len(labels) - 1,):
        bars[i].set_hatch("//")
    best = report["best_member"]["accuracy"]
    ax.axhline(best, color="gray", linestyle="--", linewidth=1, label=f"best member {best:.4f}")
    for p, a in zip(pos, accs):
        ax.text(p, a, f"{a:.4f}", ha="center", va="bottom", fontsize=8)
    lo = min(accs)
    ax.set_ylim(max(0.0, lo - 2 * (1 - lo) - 0.01), min(1.0, max(accs) + 0.5 * (1 - lo) + 0.005))
    ax.set_xticks(pos)
    ax.set_xticklabels(labels, fontsize=8, rotation=20, ha="right")
    ax.set_ylabel("accuracy")
    ax.set_title(
        f"{m} members on {report['num_examples']} examples: vote error {report['vote_error_measured']:.4f} "
        f"measured vs {report['vote_error_if_independent']:.4f} if independent",
        fontsize=9,
    )
    ax.legend(fontsize=8, loc="upper left")

    corr = np.eye(m)
    for pair in report["pairs"]:
        i, j = pair["members"]
        corr[i, j] = corr[j, i] = pair["error_correlation"]
    im = ax2.imshow(corr, vmin=-1, vmax=1, cmap="RdBu_r")
    for i in range(m):
        for j in range(m):
            ax2.text(j, i, f"{corr[i, j]:.2f}", ha="center", va="center", fontsize=9,
                     color="white" if abs(corr[i, j]) > 0.6 else "black")
    names = [x["name"] for x in members]
    ax2.set_xticks(range(m))
    ax2.set_yticks(range(m))
    ax2.set_xticklabels(names, fontsize=8, rotation=20, ha="right")
    ax2.set_yticklabels(names, fontsize=8)
    ax2.set_title("error correlation between members (0 = independent)", fontsize=9)
    fig.colorbar(im, ax=ax2, fraction=0.046, pad=0.04)
    save_figure(fig, path)

"""Figure for docs/transfer.md from runs/exp_transfer/results.json (written by exp_transfer.py).

    .venv/bin/python benchmarks/plot_transfer.py runs/exp_transfer/results.json docs/img/transfer_fashion.png
"""

from __future__ import annotations

import json
import sys

from zoo.plots.common import new_figure, save_figure

LABELS = {
    "scratch": "from scratch",
    "feature-extract": "feature extraction (penultimate)",
    "svm": "linear SVM head (hinge + L2)",
    "finetune": "fine-tune all, 0.1x LR",
    "finetune-1x": "fine-tune all, 1x LR",
    "auto": "--transfer auto",
}


def main(results_path: str, out: str) -> None:
    results = json.loads(open(results_path).read())
    sizes = sorted(int(k) for k in results if k.isdigit())
    fig = new_figure(7.0, 4.4)
    ax = fig.subplots()
    for method, label in LABELS.items():
        pts = [(n, results[str(n)][method]) for n in sizes if method in results[str(n)]]
        if not pts:
            continue
        style = {"linestyle": "--"} if method in ("auto", "finetune-1x") else {}
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=label, **style)
    ax.set_xscale("log")
    ax.set_xticks(sizes)
    ax.set_xticklabels([str(n) for n in sizes])
    ax.set_xlabel("labelled examples per class (classes 5-9)")
    ax.set_ylabel("test accuracy (5,000 images of classes 5-9)")
    ax.set_title("Fashion-MNIST: simplenet trained on classes 0-4, transferred to 5-9", fontsize=10)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    save_figure(fig, out)


if __name__ == "__main__":
    main(*sys.argv[1:3])

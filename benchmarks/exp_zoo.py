"""The lecture demos on the whole trained zoo: the figures and tables of docs/models.md,
docs/ensemble.md, docs/attack.md and docs/explain.md, from the shipped models only.

    .venv/bin/python benchmarks/exp_zoo.py --out runs/exp_zoo --n 500 --write-docs   # ~10 min, 2 CPU cores

1. accuracy against FLOPs of every shipped model (manifest + catalogue) -> docs/img/zoo_accuracy_vs_flops.png
2. the vote of all shipped models (`zoo ensemble`, vote and soft)        -> docs/img/zoo_ensemble.png
3. transferability: FGSM and PGD at eps 8 crafted on each model, evaluated on every other
   (`zoo attack --eval-on`)                                              -> docs/img/zoo_transfer_eps8.png
4. the same test images explained by every model (SmoothGrad)            -> docs/img/zoo_explain_families.png

Prints the markdown tables that the docs pages quote, and writes them to OUT/summary.json.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parents[1]
IMG = ROOT / "docs" / "img"


def cli(*args) -> dict | list:
    from zoo.cli.main import app

    result = CliRunner().invoke(app, [str(a) for a in args])
    if result.exit_code != 0:
        raise SystemExit(f"zoo {' '.join(map(str, args))} failed:\n{result.output}")
    return json.loads(result.stdout.strip().splitlines()[-1]) if "--json" in args else {}


def accuracy_vs_flops(names, manifest) -> list[dict]:
    from zoo.catalog import load_catalog
    from zoo.plots.catalog import plot_accuracy_vs_flops

    catalog = load_catalog()
    rows = [{"name": n, "flops": catalog[n]["flops"], "params": catalog[n]["trainable_params"],
             "accuracy": manifest[n]["metrics"]["test_accuracy"], "top5": manifest[n]["metrics"]["test_top5"],
             "size_mb": manifest[n]["size_bytes"] / 1e6, "train_min": manifest[n]["train_seconds"] / 60,
             "epochs": manifest[n]["epochs"]} for n in names]
    plot_accuracy_vs_flops(rows, IMG / "zoo_accuracy_vs_flops.png",
                           title="Shipped models: Fashion-MNIST test accuracy vs compute")
    print("\n| model | test acc | top-5 | params | FLOPs | size | epochs | training |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| `{r['name']}` | {r['accuracy']:.2%} | {r['top5']:.2%} | {r['params']:,} | {r['flops'] / 1e6:.1f}M "
              f"| {r['size_mb']:.1f} MB | {r['epochs']} | {r['train_min']:.0f} min |")
    return rows


def ensemble(names, out: Path) -> dict:
    vote = cli("ensemble", *names, "--out", out / "vote", "--method", "vote", "--json")
    shutil.copy(out / "vote" / "ensemble.png", IMG / "zoo_ensemble.png")
    print(f"\nvote of {len(names)}: {vote['vote_accuracy']:.2%}, soft {vote['soft_accuracy']:.2%}, best member "
          f"{vote['best_member']['name']} {vote['best_member']['accuracy']:.2%}, independence predicts "
          f"{1 - vote['vote_error_if_independent']:.2%}")
    return vote


def transferability(names, out: Path, n: int) -> dict:
    from zoo.plots.attack import plot_transfer_matrix

    acc = {m: [[None] * len(names) for _ in names] for m in ("fgsm", "pgd")}
    for i, source in enumerate(names):
        others = [x for x in names if x != source]
        report_dir = out / "attack" / source
        cli("attack", source, "--method", "fgsm,pgd", "--eps", "8", "--n", n, "--png-count", "0",
            "--out", report_dir, *sum((["--eval-on", o] for o in others), []))
        report = json.loads((report_dir / "report.json").read_text())
        for method, t in report["transfer"].items():
            col = t["eps"].index(8.0)
            for name, row in zip([source] + others, t["accuracy"]):
                acc[method][i][names.index(name)] = row[col]
    matrices = {m: (names, acc[m]) for m in acc}
    plot_transfer_matrix(matrices, IMG / "zoo_transfer_eps8.png", eps=8)
    for m in acc:
        print(f"\n{m.upper()} eps 8, rows crafted on, columns evaluated on ({n} test images)\n")
        print("| crafted on \\ evaluated on | " + " | ".join(f"`{x}`" for x in names) + " |")
        print("|---|" + "---:|" * len(names))
        for src, row in zip(names, acc[m]):
            print(f"| `{src}` | " + " | ".join(f"{v:.1%}" for v in row) + " |")
    return {m: {"models": names, "accuracy": acc[m]} for m in acc}


def explain_families(names, count: int = 6) -> None:
    import numpy as np

    from zoo.data import load_dataset
    from zoo.explain.explainer import Explainer
    from zoo.plots.explain import plot_methods_side_by_side
    from zoo.run import load_classifier

    data = load_dataset("fashion_mnist")
    images, labels = (t.numpy() for t in next(iter(data.split("test").batch(1000))))
    picks = [int(np.flatnonzero(labels == c)[0]) for c in range(count)]  # one image per class
    x, y = images[picks].astype("float32"), labels[picks]
    maps, captions = {}, None
    for name in names:
        model, class_names = load_classifier(name)
        explanation = Explainer(model, samples=32, seed=0).explain("smoothgrad", x, y)
        maps[name] = explanation.heatmaps
        captions = [class_names[int(c)] for c in y]
    plot_methods_side_by_side(x, maps, captions, IMG / "zoo_explain_families.png",
                              titles={n: n for n in names}, heading="SmoothGrad of the true class, per model")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("runs/exp_zoo"))
    parser.add_argument("--n", type=int, default=1000, help="test images attacked per source model")
    parser.add_argument("--img", type=Path, default=None, help="where the figures go (default docs/img)")
    parser.add_argument("--write-docs", action="store_true",
                        help="replace the tables between the exp_zoo markers of docs/ensemble.md and docs/attack.md")
    args = parser.parse_args()
    global IMG
    IMG = args.img or IMG
    IMG.mkdir(parents=True, exist_ok=True)

    from zoo.catalog import catalog_order, load_catalog
    from zoo.registry import load_weights_manifest

    manifest = load_weights_manifest()
    from zoo.pretrained import architecture_of

    # one model per architecture: a tagged training (resnet20.seed1) is an ensemble member, see docs/ensemble.md
    names = sorted((n for n in manifest if n == architecture_of(n)), key=lambda n: catalog_order(load_catalog()[n]))
    print(f"load average {open('/proc/loadavg').read().split()[0]}; shipped: {', '.join(names)}")
    args.out.mkdir(parents=True, exist_ok=True)
    summary = {"models": accuracy_vs_flops(names, manifest)}
    summary["ensemble"] = ensemble(names, args.out)
    summary["transfer"] = transferability(names, args.out, args.n)
    explain_families(names)
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
    text = sections(summary, names, args.n)
    (args.out / "sections.md").write_text(text)
    print(f"\nwrote {args.out / 'summary.json'} and {args.out / 'sections.md'}")
    if args.write_docs:
        for page in write_docs(text):
            print(f"updated {page}")


# Where each generated section goes: between <!-- exp_zoo:KEY --> and <!-- /exp_zoo:KEY --> in the page.
DOC_BLOCKS = {"ENSEMBLE": ("ensemble.md", "ensemble"), "TRANSFER FGSM": ("attack.md", "transfer-fgsm"),
              "TRANSFER PGD": ("attack.md", "transfer-pgd")}


def write_docs(text: str) -> list[Path]:
    """Put the measured tables into the docs pages in place of the previous ones (markers kept)."""
    import re

    blocks = dict(re.findall(r"^## ([A-Z ]+)\n\n(.*?)(?=^## |\Z)", text, flags=re.M | re.S))
    changed = []
    for title, (page, key) in DOC_BLOCKS.items():
        path = ROOT / "docs" / page
        doc = path.read_text()
        pattern = re.compile(rf"(<!-- exp_zoo:{key} -->\n).*?(<!-- /exp_zoo:{key} -->)", re.S)
        if not pattern.search(doc):
            raise SystemExit(f"{path} has no <!-- exp_zoo:{key} --> ... <!-- /exp_zoo:{key} --> block")
        path.write_text(pattern.sub(lambda m: m.group(1) + blocks[title].strip() + "\n" + m.group(2), doc))
        changed.append(path)
    return sorted(set(changed))


def sections(summary: dict, names: list[str], n: int) -> str:
    """The markdown the docs pages quote: ensemble, transferability, explain (one heading each)."""
    vote = summary["ensemble"]
    members = ", ".join(f"`{m['name']}` {m['accuracy']:.2%}" for m in vote["members"])
    member_names = [m["name"] for m in vote["members"]]
    pairs = "\n".join(f"| {member_names[p['members'][0]]} / {member_names[p['members'][1]]} | "
                      f"{p['disagreement']:.4f} | {p['error_correlation']:.3f} | {p['both_wrong']:.4f} |"
                      for p in vote.get("pairs", []))
    out = [f"## ENSEMBLE\n\nMembers (whole test set): {members}. Max-vote **{vote['vote_accuracy']:.2%}**, "
           f"soft average {vote['soft_accuracy']:.2%}, best member {vote['best_member']['name']} "
           f"{vote['best_member']['accuracy']:.2%}; if the members' errors were independent the vote would reach "
           f"{1 - vote['vote_error_if_independent']:.2%}. All members wrong on {vote['all_members_wrong']:.2%} of the "
           f"images; mean pairwise disagreement {vote['mean_disagreement']:.4f}.\n"]
    if pairs:
        out.append("| pair | disagreement | error correlation | both wrong |\n| --- | ---: | ---: | ---: |\n"
                   + pairs + "\n")
    for method, t in summary["transfer"].items():
        out.append(f"## TRANSFER {method.upper()}\n\n**{method.upper()}**, {n} test images, eps 8/255; rows: crafted "
                   "on, columns: evaluated on (the diagonal is the white-box attack)\n")
        out.append("| crafted on \\ evaluated on | " + " | ".join(f"`{x}`" for x in names) + " |\n|---|"
                   + "---:|" * len(names))
        for src, row in zip(names, t["accuracy"]):
            out.append(f"| `{src}` | " + " | ".join(f"{v:.1%}" for v in row) + " |")
        out.append("")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    main()

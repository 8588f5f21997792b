"""Time to accuracy: test accuracy after every epoch against training minutes, recipe against recipe,
and an airbench-style ablation (one trick added at a time, with the seed-to-seed spread measured).

Every run is a `zoo train` run (its options are parsed by the CLI itself, then trained by
zoo.training.trainer.train) with one extra callback: after every epoch it measures the test accuracy
single-view and with flip TTA (zoo/tta.py; an --ema run is measured on its averaged weights, as its
test metrics are) and writes the row to OUT/<mode>.json at once, so a killed benchmark keeps its rows.
Run the same command again: finished runs with the same options are kept, unfinished ones start over.

Training minutes: wall time from the first step (data and model set up) to the end of each epoch,
validation, checkpoint and backup included, which is what `zoo train` spends; the benchmark's own test
evaluation is excluded.

curves     one model, two or more recipes NAME=OPTIONS (default: the recipe its weights shipped with
           before issue 20, against `--recipe fashion_mnist`), trained one after the other: epochs and
           minutes to first reach 92%, 93%, 94% (single view and flip TTA), final accuracy, and
           OUT/curves.png (test accuracy vs training minutes; single view solid, flip TTA dashed).
ablation   a base recipe and variants adding ONE trick each (EMA, flip TTA at evaluation only, label
           smoothing, one-cycle, mixup), each trained with --seeds seeds (seed-major, so load drifts hit
           every variant alike): mean, std, difference from base with its standard error; an effect with
           |diff| < 2 SE is marked "within noise". Prints the markdown table for docs/benchmarks.md.

The real runs (2 cores; one at a time, on an otherwise idle machine). Measured on an AVX2-only AMD
EPYC (fp32): simplenet 19.5-22 s an epoch, so the simplenet curves take ~30 min and the ablation ~45
min. resnet20 on an AVX512_BF16 EPYC: 76-106 s an epoch in bf16 and 121-147 s in fp32 (this benchmark,
2026-12-06, alone; `--precision auto` picks bf16 where the CPU has AVX512_BF16 or AMX); 176-187 s an
epoch in fp32 on an AVX2-only EPYC alone (resnet20.seed1, 2026-12-05); plus 6-35 s an epoch of test
evaluation:

    # resnet20: old 14 epochs fp32 + new 28 epochs (bf16 where the CPU has it): 82 min on a bf16 CPU
    # (measured), ~2.5 h on an AVX2-only one, alone
    .venv/bin/python benchmarks/bench_time_to_accuracy.py curves --model resnet20 --out runs/bench_t2a/resnet20
    # simplenet: its recipe did not change in issue 20, so the race is against the records' tools
    .venv/bin/python benchmarks/bench_time_to_accuracy.py curves --model simplenet --out runs/bench_t2a/simplenet \\
        old="--epochs 40 --optimizer adam --lr 0.002 --schedule cosine --warmup-epochs 0 --augment flip,crop=2 --precision fp32" \\
        tricks="--recipe fashion_mnist --ema 0.999 --schedule onecycle --warmup-epochs 10 --label-smoothing 0.1"
    # simplenet, 8 epochs, base + 4 trained variants x 3 seeds = 15 runs (TTA needs no training)
    .venv/bin/python benchmarks/bench_time_to_accuracy.py ablation --model simplenet --epochs 8 --seeds 3 \\
        --out runs/bench_t2a/ablation

Smoke tests (about 1 and 3 minutes on 2 loaded cores):

    nice -n 19 .venv/bin/python benchmarks/bench_time_to_accuracy.py curves --model lenet5 --limit 600 \\
        --epochs 2 --out /tmp/t2a old="--optimizer sgd --lr 0.01" new="--recipe fashion_mnist"
    nice -n 19 .venv/bin/python benchmarks/bench_time_to_accuracy.py ablation --model simplenet --limit 600 \\
        --epochs 1 --seeds 2 --out /tmp/t2a
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import math
import os
import shlex
import sys
import time
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

THRESHOLDS = (0.92, 0.93, 0.94)
# The recipes the weights shipped with before issue 20 (weights/manifest.json's commands, spelled out so
# they stay what they were when the registry's recipe changes).
OLD_RECIPES = {
    "resnet20": "--epochs 14 --optimizer nesterov --lr 0.1 --weight-decay 5e-4 --schedule cosine --warmup-epochs 1 "
                "--augment flip,crop=2 --precision fp32",
    "simplenet": "--epochs 40 --optimizer adam --lr 0.002 --schedule cosine --warmup-epochs 0 "
                 "--augment flip,crop=2 --precision fp32",
}
NEW_RECIPE = "--recipe fashion_mnist"
# Ablation variants: the base's options plus these. Empty options: the base runs themselves, with
# flip TTA at evaluation (no training of its own; compared with the base model by model).
VARIANTS = {"ema": "--ema 0.999", "tta": "", "label_smoothing": "--label-smoothing 0.1",
            "onecycle": "--schedule onecycle --warmup-epochs {quarter}", "mixup": "--mixup 0.2"}
TITLES = {"ema": "+ weight EMA 0.999", "tta": "+ flip TTA (evaluation only)",
          "label_smoothing": "+ label smoothing 0.1", "onecycle": "+ one-cycle (25% linear warmup, linear decay)",
          "mixup": "+ mixup 0.2"}


# ---------------------------------------------------------------------------------------------- pure logic


def first_reaching(rows: list[dict], threshold: float, key: str = "test_accuracy") -> tuple[int, float] | None:
    """(epoch, training minutes) of the first row whose ``key`` is at least ``threshold``; None if none is."""
    for row in rows:
        value = row.get(key)
        if value is not None and value >= threshold:
            return int(row["epoch"]), row["train_seconds"] / 60
    return None


def mean_std(values) -> tuple[float, float]:
    """Mean and sample standard deviation (NaN with fewer than two values)."""
    values = [float(v) for v in values]
    n = len(values)
    mean = sum(values) / n if n else math.nan
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1)) if n > 1 else math.nan
    return mean, std


def verdict(diff: float, se: float) -> str:
    """'within noise' when |diff| < 2 standard errors (or no spread was measured), else 'gain' or 'loss'."""
    if not math.isfinite(se):
        return "no spread (1 seed)"
    if abs(diff) < 2 * se or diff == 0:
        return "within noise"
    return "gain" if diff > 0 else "loss"


def effect(base, variant, *, paired: bool = False) -> dict:
    """The variant's mean and std, its difference from the base's mean and that difference's standard error.

    Unpaired (other trainings): SE = sqrt(s_b^2 / n_b + s_v^2 / n_v). Paired (the same models evaluated
    another way, e.g. with TTA): SE = std(v_i - b_i) / sqrt(n).
    """
    mean, std = mean_std(variant)
    base_mean, base_std = mean_std(base)
    diff = mean - base_mean
    if paired:
        if len(base) != len(variant):
            raise ValueError(f"paired: {len(base)} base values but {len(variant)} variant values")
        se = mean_std([v - b for v, b in zip(variant, base)])[1] / math.sqrt(len(base))
    else:
        se = math.sqrt(base_std ** 2 / len(base) + std ** 2 / len(variant))
    return {"n": len(variant), "mean": mean, "std": std, "diff": diff, "se": se, "verdict": verdict(diff, se)}


# ---------------------------------------------------------------------------------------------- training


class _Built(BaseException):
    """Raised by the stand-in trainer once the CLI has built the config (not an Exception: the CLI lets it by)."""


def train_config(model: str, options: str, **overrides):
    """The TrainConfig of `zoo train MODEL OPTIONS`, built by the CLI's own parsing (recipes, defaults, checks),
    with ``overrides`` (those not None) on top."""
    from unittest import mock

    import typer

    from zoo.cli.main import app

    built = {}

    def capture(config, **_kwargs):
        built["config"] = config
        raise _Built

    with mock.patch("zoo.training.trainer.train", capture):
        try:
            typer.main.get_command(app).main(["train", model, *shlex.split(options)], prog_name="zoo",
                                             standalone_mode=False)
        except _Built:
            pass
        except Exception as exc:  # a usage error (typer vendors its own click: no stable class to name)
            message = getattr(exc, "format_message", exc.__str__)()
            raise SystemExit(f"zoo train {model} {options}: {message}") from None
    if "config" not in built:  # the CLI printed why
        raise SystemExit(f"zoo train {model} {options}: not a valid set of options (see above).")
    return replace(built["config"], **{k: v for k, v in overrides.items() if v is not None})


@contextlib.contextmanager
def averaged_weights(model, on: bool):
    """With ``on`` (an --ema run): the model holds its averaged weights inside the block, raw ones after."""
    if not on:
        yield
        return
    from zoo.training.ema import _Swap  # the swap the trainer's EMAIn/EMAOut use

    swap = _Swap()
    swap.model = model
    swap.swap(True)
    try:
        yield
    finally:
        swap.swap(False)


def measure_accuracies(model, stream, tta: str) -> tuple[float, float | None]:
    """(single-view accuracy, TTA accuracy or None) of ``model`` on a batched (images, labels) stream."""
    import numpy as np

    from zoo.evaluation import logits_and_labels, tta_logits_and_labels

    if tta == "none":
        logits, labels = logits_and_labels(model, stream)
        return float(np.mean(logits.argmax(1) == labels)), None
    tta_logits, logits, labels = tta_logits_and_labels(model, stream, tta)
    return float(np.mean(logits.argmax(1) == labels)), float(np.mean(tta_logits.argmax(1) == labels))


def epoch_probe(config, record: dict, save, tta: str, t_called: float):
    """A Keras callback: after every epoch, a row of training seconds and test accuracies into ``record``."""
    import keras

    class EpochProbe(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            from zoo.run import Run
            from zoo.training.trainer import eval_stream

            data = Run(str(config.out), config.to_dict()).data(limit=config.limit)  # the run's own data rule
            split = "test" if data.test is not None else "val"
            self.stream = eval_stream(data, split, tuple(self.model.input_shape[1:]), 256)
            record.update(precision=keras.mixed_precision.global_policy().name, eval_split=split,
                          eval_images=data.sizes.get(split), setup_seconds=round(time.perf_counter() - t_called, 2))
            self.t0, self.excluded, self.val_seconds = time.perf_counter(), 0.0, 0.0

        def on_test_begin(self, logs=None):  # validation inside fit
            self.v0 = time.perf_counter()

        def on_test_end(self, logs=None):
            self.val_seconds += time.perf_counter() - self.v0

        def on_epoch_end(self, epoch, logs=None):
            now = time.perf_counter()
            logs = logs or {}
            with averaged_weights(self.model, config.ema is not None):
                single, flipped = measure_accuracies(self.model, self.stream, tta)
            record["rows"].append({
                "epoch": epoch + 1, "train_seconds": round(now - self.t0 - self.excluded, 2),
                "val_seconds": round(self.val_seconds, 2), "test_accuracy": single, "test_accuracy_tta": flipped,
                "val_accuracy": logs.get("val_accuracy"), "train_accuracy": logs.get("accuracy"),
                "learning_rate": logs.get("learning_rate"), "eval_seconds": round(time.perf_counter() - now, 2)})
            save()
            self.excluded += time.perf_counter() - now

    return EpochProbe()


def _printed():
    """The trainer's notes, printed indented under the run's header line."""
    from zoo.progress import Progress

    class Printed(Progress):
        def note(self, text) -> None:
            print(f"  {text}", flush=True)

    return Printed()


def train_run(results: dict, save, key: str, model: str, options: str, out: Path, *, tta: str, **overrides) -> dict:
    """Train one run into out/key and keep its record in ``results["runs"][key]`` (kept if already finished)."""
    from zoo.training.trainer import train

    given = {k: v for k, v in overrides.items() if v is not None}
    old = results["runs"].get(key)
    if old and old.get("finished") and (old["model"], old["options"], old["overrides"]) == (model, options, given):
        print(f"{key}: finished before, kept ({len(old['rows'])} epochs)", flush=True)
        return old
    config = train_config(model, options, out=str(out / key), **given)
    command = f"zoo train {model} {options}" + "".join(f" --{k.replace('_', '-')} {v}" for k, v in given.items())
    record = results["runs"][key] = {"model": model, "options": options, "overrides": given, "command": command,
                                     "load_at_start": [round(x, 2) for x in os.getloadavg()], "rows": [],
                                     "finished": False}
    print(f"{key}: {command}", flush=True)
    probe = epoch_probe(config, record, save, tta, time.perf_counter())
    result = train(config, overwrite=True, progress=_printed(), extra_callbacks=[probe])
    record.update(finished=True, trainer_test_accuracy=result.metrics.get("accuracy"),
                  config={k: v for k, v in result.config.to_dict().items() if k not in ("class_names",)})
    save()
    last = record["rows"][-1]
    print(f"  {key}: {len(record['rows'])} epochs, {last['train_seconds'] / 60:.1f} min, test "
          f"{last['test_accuracy']:.2%}" + (f", {tta} TTA {last['test_accuracy_tta']:.2%}" if tta != "none" else ""),
          flush=True)
    return record


def machine_line() -> dict:
    """The machine as the figures and tables name it: CPU, SIMD flags, cores, load at start."""
    from zoo.shipping import machine

    m = machine()
    flags = [f for f in ("amx_bf16", "avx512_bf16") if f in m["simd"]] or [f for f in ("avx2",) if f in m["simd"]]
    load = os.getloadavg()
    return {**m, "flags": flags, "load": [round(x, 2) for x in load],
            "line": f"{m['cpu']} ({', '.join(flags) or 'no AVX2'}), {m['cores']} cores, "
                    f"load {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} at start"}


def open_results(path: Path, mode: str, argv) -> dict:
    import json

    results = json.loads(path.read_text()) if path.exists() else {}
    if results.get("mode") != mode:
        results = {"mode": mode, "runs": {}}
    results.update(command=" ".join(["benchmarks/bench_time_to_accuracy.py", *map(shlex.quote, argv)]),
                   machine=machine_line(), started=time.strftime("%Y-%m-%d %H:%M:%S %Z"))
    for key in [k for k, r in results["runs"].items() if not r.get("finished")]:
        del results["runs"][key]  # a run killed midway starts over: its minutes would not add up
    return results


def saver(path: Path, results: dict):
    from zoo.io import write_json

    path.parent.mkdir(parents=True, exist_ok=True)
    return lambda: write_json(path, results)


# ---------------------------------------------------------------------------------------------- curves


def parse_recipes(items: list[str]) -> dict[str, str]:
    recipes = {}
    for item in items:
        name, sep, options = item.partition("=")
        if not sep or not name.strip():
            raise SystemExit(f"a recipe is NAME=OPTIONS (e.g. new=\"--recipe fashion_mnist\"); got {item!r}")
        recipes[name.strip()] = options.strip()
    return recipes


def cell(hit) -> str:
    return "not reached" if hit is None else f"epoch {hit[0]}, {hit[1]:.1f} min"


def curves_table(model: str, runs: dict, thresholds, tta: str) -> str:
    views = [("single view", "test_accuracy")] + ([(f"{tta} TTA", "test_accuracy_tta")] if tta != "none" else [])
    lines = [f"| {model} recipe | precision | view | " + " | ".join(f"{t:.0%}" for t in thresholds)
             + " | final | best | epochs | minutes |", "|---|---|---|" + "---:|" * (len(thresholds) + 4)]
    for name, run in runs.items():
        rows = run["rows"]
        if not rows:
            continue
        for view, key in views:
            values = [r[key] for r in rows]
            lines.append(f"| {name} | {run.get('precision', '?')} | {view} | "
                         + " | ".join(cell(first_reaching(rows, t, key)) for t in thresholds)
                         + f" | {values[-1]:.2%} | {max(values):.2%} | {len(rows)}{'' if run['finished'] else ' (cut)'}"
                         f" | {rows[-1]['train_seconds'] / 60:.1f} |")
    return "\n".join(lines)


def plot_curves_vs_minutes(model: str, runs: dict, thresholds, tta: str, machine: str, path: Path) -> None:
    """Test accuracy vs training minutes, one colour per recipe (single view solid, TTA dashed): all
    epochs on the left, the thresholds' band on the right."""
    from zoo.plots.common import new_figure, save_figure

    fig = new_figure(12.0, 4.8)
    axes = fig.subplots(1, 2)
    values = []
    views = [("test_accuracy", "-o", "single view")]
    views += [("test_accuracy_tta", "--", f"{tta} TTA")] if tta != "none" else []
    for i, (name, run) in enumerate(runs.items()):
        minutes = [r["train_seconds"] / 60 for r in run["rows"]]
        for key, style, view in views:
            ys = [100 * r[key] for r in run["rows"]]
            values += ys
            label = f"{name} ({run.get('precision', '?')}), {view}" if key == "test_accuracy" else f"{name}, {view}"
            for ax in axes:
                ax.plot(minutes, ys, style, color=f"C{i}", markersize=3, label=label)
    if not values:
        return
    top = max(values)
    bottom = min(100 * min(thresholds) - 2, top - 3)  # the race to the thresholds, not the first epochs' climb
    for ax, low in zip(axes, (min(values) - 1, bottom)):
        for t in thresholds:
            if low < 100 * t < top + 1:
                ax.axhline(100 * t, color="grey", linestyle=":", linewidth=0.8)
        ax.set_ylim(low, max([top] + [100 * t for t in thresholds if low < 100 * t < top + 1]) + 0.3)
        ax.set_xlim(left=0)
        ax.set_xlabel("training minutes (validation included, test evaluation excluded)")
        ax.grid(True, alpha=0.3)
    axes[0].set_ylabel("test accuracy (%)")
    axes[0].set_title("every epoch", fontsize=9)
    axes[1].set_title(f"zoom: {bottom:.0f}% and up; dotted lines: " + ", ".join(f"{t:.0%}" for t in thresholds),
                      fontsize=9)
    axes[0].legend(fontsize=8, loc="best")
    images = next((r.get("eval_images") for r in runs.values() if r.get("eval_images")), None)
    fig.suptitle(f"{model} on Fashion-MNIST: test accuracy after every epoch vs training time"
                 f"\n{machine}" + (f"; {images:,} test images" if images else ""), fontsize=10)
    fig.tight_layout()
    save_figure(fig, path)


def curves(args, argv) -> None:
    recipes = parse_recipes(args.recipes) if args.recipes else None
    if recipes is None:
        if args.model not in OLD_RECIPES:
            raise SystemExit(f"no old recipe of {args.model} on file; pass recipes as NAME=OPTIONS")
        recipes = {"old": OLD_RECIPES[args.model], "new": NEW_RECIPE}
    if len(recipes) < 2:
        raise SystemExit("curves compares two or more recipes: pass NAME=OPTIONS at least twice")
    path = args.out / "curves.json"
    results = open_results(path, "curves", argv)
    results.update(model=args.model, thresholds=list(args.thresholds), tta=args.tta)
    save = saver(path, results)
    print(f"# {results['machine']['line']}", flush=True)
    for name, options in recipes.items():
        train_run(results, save, name, args.model, f"{options} {args.common}".strip(), args.out, tta=args.tta,
                  epochs=args.epochs, limit=args.limit)
    runs = {name: results["runs"][name] for name in recipes}
    plot_curves_vs_minutes(args.model, runs, args.thresholds, args.tta, results["machine"]["line"],
                           args.out / "curves.png")
    table = curves_table(args.model, runs, args.thresholds, args.tta)
    print(f"\n{results['machine']['line']}; minutes: training wall time, test evaluation excluded\n\n{table}\n")
    for name, run in runs.items():
        print(f"- {name}: `{run['command']}`")
    print(f"\nwrote {path} and {args.out / 'curves.png'}")


# ---------------------------------------------------------------------------------------------- ablation


def parse_variants(items: list[str] | None) -> dict[str, str]:
    return dict(VARIANTS) if not items else parse_recipes(items)


def ablation_table(results: dict, variants: dict[str, str], seeds: int, tta: str) -> tuple[str, dict]:
    """The markdown table and the summary: final test accuracy per variant against the base."""
    runs = results["runs"]

    def finals(name, key="test_accuracy", source=None):
        found = [runs.get(f"{source or name}-s{s}") for s in range(seeds)]
        return [r["rows"][-1][key] for r in found if r and r.get("finished")]

    base = finals("base")
    summary = {"base": {**effect(base, base), "diff": None, "se": None, "verdict": ""}} if base else {}
    lines = ["| variant | options | runs | test accuracy | std | diff vs base | SE | verdict | min/run |",
             "|---|---|---:|---:|---:|---:|---:|---|---:|"]
    if not base:
        return "\n".join(lines), summary

    def minutes(name):
        found = [runs.get(f"{name}-s{s}") for s in range(seeds)]
        return mean_std([r["rows"][-1]["train_seconds"] / 60 for r in found if r and r.get("finished")])[0]

    b = summary["base"]
    lines.append(f"| base | `{results['base']}` | {b['n']} | {b['mean']:.2%} | {100 * b['std']:.2f} | | | | "
                 f"{minutes('base'):.1f} |")
    for name, options in variants.items():
        eval_only = not options
        values = finals(name, "test_accuracy_tta", source="base") if eval_only else finals(name)
        if not values or (eval_only and tta == "none"):
            continue
        e = summary[name] = effect(base, values, paired=eval_only)
        shown = f"{tta} TTA of the base runs (paired)" if eval_only else f"`{options}`"
        lines.append(f"| {TITLES.get(name, name)} | {shown} | {e['n']} | {e['mean']:.2%} | {100 * e['std']:.2f} | "
                     f"{100 * e['diff']:+.2f} | {100 * e['se']:.2f} | {e['verdict']} | "
                     f"{minutes('base' if eval_only else name):.1f} |")
    return "\n".join(lines), summary


def ablation(args, argv) -> None:
    path = args.out / "ablation.json"
    results = open_results(path, "ablation", argv)
    base_config = train_config(args.model, args.base, epochs=args.epochs)
    epochs = base_config.epochs
    if epochs is None:
        from zoo.training.config import resolve

        epochs = resolve(base_config).epochs
    variants = {name: options.format(quarter=f"{0.25 * epochs:g}")
                for name, options in parse_variants(args.variants).items()}
    results.update(model=args.model, base=args.base, variants=variants, seeds=args.seeds, tta=args.tta)
    save = saver(path, results)
    print(f"# {results['machine']['line']}", flush=True)
    for seed in range(args.seeds):  # seed-major: a load change on the machine hits every variant alike
        for name, options in {"base": "", **variants}.items():
            if name != "base" and not options:
                continue  # evaluation only: measured on the base runs
            train_run(results, save, f"{name}-s{seed}", args.model, f"{args.base} {options}".strip(), args.out,
                      tta=args.tta, epochs=args.epochs, limit=args.limit, seed=seed)
    table, summary = ablation_table(results, variants, args.seeds, args.tta)
    finite = lambda v: None if isinstance(v, float) and not math.isfinite(v) else v  # noqa: E731 (JSON has no NaN)
    results["summary"] = {name: {k: finite(v) for k, v in e.items()} for name, e in summary.items()}
    save()
    print(f"\n{args.model}, {epochs} epochs, seeds 0-{args.seeds - 1}; {results['machine']['line']}. Final test "
          "accuracy (single view unless said); std and SE in points; an effect is claimed only when |diff| >= 2 SE.\n")
    print(table)
    print(f"\nwrote {path}")


# ---------------------------------------------------------------------------------------------- command line


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    logging.getLogger("tensorflow").setLevel(logging.ERROR)  # each run's new model retraces the test pass: not news
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0], epilog=__doc__.split("\n\n", 1)[1],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="mode", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--model", default="simplenet", help="a zoo model name (default simplenet)")
    common.add_argument("--epochs", type=int, default=None, help="epochs of every run (default: each recipe's own)")
    common.add_argument("--limit", type=int, default=None, help="examples per split (quick tests; default all)")
    common.add_argument("--tta", default="flip", choices=("none", "flip", "flip+shift"),
                        help="the test-time augmentation measured beside single view (default flip)")
    common.add_argument("--out", type=Path, default=Path("runs/bench_t2a"), help="runs and JSON go here")
    c = sub.add_parser("curves", parents=[common], help="accuracy vs minutes, recipe against recipe")
    c.add_argument("recipes", nargs="*", metavar="NAME=OPTIONS",
                   help="`zoo train` options per recipe (default: old=the recipe before issue 20, "
                        "new=--recipe fashion_mnist)")
    c.add_argument("--common", default="", help="options added after every recipe's, so they win "
                   "(e.g. \"--precision mixed_bfloat16\"; one flag alone: --common=--deterministic)")
    c.add_argument("--thresholds", type=lambda s: tuple(float(x) for x in s.split(",")), default=THRESHOLDS,
                   help="accuracies to reach, comma-separated (default 0.92,0.93,0.94)")
    a = sub.add_parser("ablation", parents=[common], help="one trick at a time, several seeds")
    a.add_argument("--base", default=NEW_RECIPE, help=f"the base's `zoo train` options (default {NEW_RECIPE!r}; "
                   "one flag alone: --base=--deterministic)")
    a.add_argument("--seeds", type=int, default=3, help="seeds per variant (default 3)")
    a.add_argument("--variant", dest="variants", action="append", metavar="NAME=OPTIONS",
                   help="a variant's added options (repeat; empty options: the base runs with TTA); default: "
                        + "; ".join(f"{k}={v!r}" for k, v in VARIANTS.items()))
    args = ap.parse_args(argv)
    (curves if args.mode == "curves" else ablation)(args, argv)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""`zoo attack`: adversarial examples (FGSM, BIM, PGD), robustness report, transferability."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from rich.markup import escape

from zoo.attack.registry import attacks
from zoo.cli.common import complete_run_or_model, console, friendly_errors

DEFAULT_EPS = "2,4,8,16,32"
ATTACKS = attacks()  # the records of zoo/attack/attacks/, read without TensorFlow
WEAKEST, STRONGEST = next(iter(ATTACKS)), list(ATTACKS)[-1]
METHOD_HELP = ", ".join(ATTACKS) + f"; several comma-separated ({WEAKEST},{STRONGEST})."


def register(app: typer.Typer) -> None:
    app.command("attack")(attack_command)


def parse_eps_list(text: str, scale: str) -> list[float]:
    """'2,4,8' -> [2.0, 4.0, 8.0] pixel levels; with scale 'unit', '0.01,0.03' -> [2.55, 7.65]."""
    from zoo.attack.registry import check_eps
    from zoo.errors import InvalidArgumentError

    scale = scale.strip().lower()
    if scale not in ("pixel", "unit"):
        raise InvalidArgumentError(f"--eps-scale must be 'pixel' (out of 255) or 'unit' (out of 1); got {scale!r}.")
    parts = [p.strip() for p in str(text).split(",") if p.strip()]
    if not parts:
        raise InvalidArgumentError(f"--eps needs comma-separated numbers such as {DEFAULT_EPS}; got {text!r}.")
    values = []
    for part in parts:
        try:
            value = float(part)
        except ValueError:
            raise InvalidArgumentError(
                f"--eps values must be numbers (pixel levels out of 255, e.g. {DEFAULT_EPS}); got {part!r} in {text!r}."
            ) from None
        if scale == "unit":
            if not 0.0 <= value <= 1.0:
                raise InvalidArgumentError(
                    f"With --eps-scale unit, eps is a fraction of the pixel range in [0, 1]; got {part!r}."
                )
            value *= 255.0
        values.append(check_eps(value, "eps"))
    return sorted(set(values))


def parse_methods(text: str, compare: bool) -> list[str]:
    from zoo.attack.registry import check_method

    chosen = [check_method(m) for m in str(text).split(",") if m.strip()]
    if compare:
        chosen += [WEAKEST, STRONGEST]
    return [m for m in ATTACKS if m in chosen]


def default_out_dir(model_path: Path) -> Path:
    return model_path / "attack" if model_path.is_dir() else model_path.with_name(f"{model_path.stem}_attack")


@friendly_errors
def attack_command(
    model_path: Path = typer.Argument(..., metavar="RUN_OR_MODEL", help="Run directory or .keras classifier.",
                                      autocompletion=complete_run_or_model),
    method: str = typer.Option("fgsm", "--method", "-m", help=METHOD_HELP),
    compare: bool = typer.Option(False, "--compare", help=f"Also run {WEAKEST} and {STRONGEST}, and compare them (red flags)."),
    eps: str = typer.Option(DEFAULT_EPS, "--eps", help="Comma-separated L-inf budgets, pixel levels out of 255."),
    eps_scale: str = typer.Option("pixel", "--eps-scale", help="'pixel' (eps out of 255) or 'unit' (out of 1)."),
    target: Optional[str] = typer.Option(
        None, "--target", help="Targeted attack: a class name or index, or 'least-likely' (per example)."
    ),
    no_labels: bool = typer.Option(
        False, "--no-labels", help="Untargeted: attack the model's predictions, not the true labels (no label leaking)."
    ),
    steps: Optional[int] = typer.Option(None, "--steps", help="Iterations of bim/pgd (default 10)."),
    step_size: Optional[float] = typer.Option(
        None, "--step-size", help="Step of bim/pgd in pixel levels (default eps/4 for bim, 2.5*eps/steps for pgd)."
    ),
    random_start: Optional[bool] = typer.Option(
        None, "--random-start/--no-random-start", help="Start bim/pgd at a random point of the eps-ball (default on for pgd, off for bim)."
    ),
    n: int = typer.Option(1000, "--n", help="Number of examples to attack (the first N of the split)."),
    all_examples: bool = typer.Option(False, "--all", help="Attack the whole split."),
    dataset: Optional[str] = typer.Option(None, "--dataset", help="Dataset spec (default: the run's dataset, else fashion_mnist)."),
    split: str = typer.Option("test", "--split", help="Split to attack."),
    data_dir: Optional[Path] = typer.Option(None, "--data-dir", help="Where the dataset files are."),
    batch_size: int = typer.Option(256, "--batch-size", help="Examples per attack batch."),
    input_scale: str = typer.Option(
        "auto", "--input-scale", help="What a model the zoo did not make expects: 255 (pixels as they are), 1 "
        "(divided by 255) or standardize (then per-channel mean/std of the images given); auto: 255, with a "
        "note when the model does not start with a Rescaling/Normalization layer."),
    out: Optional[Path] = typer.Option(None, "--out", help="Output directory (default: RUN/attack, or MODEL_attack/ next to a .keras file)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the random starts and the noise baseline (and of the val split "
                                               "when the model has no run config.json; a run's own dataset uses its "
                                               "training seed and val split)."),
    eval_on: Optional[List[Path]] = typer.Option(
        None, "--eval-on", help="Runs/models to evaluate the crafted examples on (transferability): --eval-on RUN2 RUN3 ..."
    ),
    png_count: int = typer.Option(16, "--png-count", help="Adversarial images saved as PNG per method and eps."),
    grid_eps: Optional[float] = typer.Option(None, "--grid-eps", help="eps shown in the example grid (default 8 if given, else the middle eps)."),
    overlay: Optional[List[Path]] = typer.Option(
        None, "--overlay", help="report.json of an earlier `zoo attack` to draw in the curve too (e.g. a normally trained model)."
    ),
    extra_eval_on: Optional[List[Path]] = typer.Argument(None, metavar="EVAL_ON", hidden=True, help="More --eval-on models."),
) -> None:
    """Craft adversarial examples against a classifier and report its robustness.

    Writes report.json (clean and robust accuracy, success rate, perturbation norms, per-class
    robust accuracy, red flags, transfer matrix), accuracy_vs_eps.png (with a random-noise
    baseline), examples.png, adversarial.npz and PNGs of the first adversarial images.
    """
    from zoo import checks
    from zoo.errors import InvalidArgumentError

    eps_values = parse_eps_list(eps, eps_scale)
    methods = parse_methods(method, compare)
    if not methods:
        raise InvalidArgumentError(f"--method needs {', '.join(ATTACKS)}; got {method!r}.")
    if steps is not None:
        checks.positive_int(steps, "steps")
    if not all_examples:
        checks.positive_int(n, "n", note=" (of examples, or use --all)")
    checks.positive_int(batch_size, "batch_size")
    checks.non_negative(png_count, "png_count")
    if target is not None and no_labels:
        raise InvalidArgumentError("--no-labels is for untargeted attacks; drop it or drop --target.")
    from zoo.attack.registry import resolve_settings

    for m in methods:  # check --steps / --step-size before loading anything
        resolve_settings(m, eps_values[-1], steps=steps, step_size=step_size, random_start=random_start)

    overlays = _read_overlays(overlay or [])
    from zoo.io import check_output_dir

    check_output_dir(out)  # before any attack is computed
    from zoo.inputs import check_input_scale

    check_input_scale(input_scale)

    from zoo.attack.report import resolve_target
    from zoo.run import Run, load_classifier

    model, class_names = load_classifier(model_path)
    resolve_target(target, class_names)  # unknown class: fail before loading data
    eval_paths = list(eval_on or []) + list(extra_eval_on or [])
    others = [(str(p), load_classifier(p)[0]) for p in eval_paths]

    run = Run.open(model_path)
    spec = run.data_options(dataset)[0]
    input_shape = tuple(int(d) for d in model.inputs[0].shape[1:])
    with console.status(f"Loading {spec} ({split})..."):
        data = run.data(dataset, data_dir=data_dir, limit=None if all_examples else n, num_classes=len(class_names),
                        seed=seed)
        images, labels = _load_examples(data, spec, split, None if all_examples else n, input_shape)
    class_names = run.class_names(len(class_names), data)
    from zoo.inputs import adapt_classifier, image_stats

    model, notes = adapt_classifier(model, input_scale, stats=lambda: image_stats(images), source=str(model_path))
    for note in notes:
        console.print(f"[dim]{escape(note)}[/]", highlight=False)

    from zoo.attack.report import evaluate_robustness, transfer_matrix

    with console.status(f"Attacking {len(images)} examples with {', '.join(methods)} at eps {', '.join(f'{e:g}' for e in eps_values)}..."):
        run = evaluate_robustness(
            model, images, labels, class_names, methods=methods, eps_list=eps_values, target=target,
            use_labels=not no_labels, steps=steps, step_size=step_size, random_start=random_start,
            batch_size=batch_size, seed=seed,
        )
    report = run.report
    report["model"] = str(model_path)
    report["dataset"] = spec
    report["split"] = split
    report["eps_scale_given"] = eps_scale
    if others:
        with console.status("Evaluating transferability..."):
            report["transfer"] = transfer_matrix(run, str(model_path), others, batch_size=batch_size)

    out_dir = out or default_out_dir(model_path)
    from zoo.io import output_dir

    with output_dir(out_dir):  # removed again if a write fails (a full disk): nothing half-written
        files = _write_outputs(run, out_dir, png_count=png_count, grid_eps=grid_eps, overlays=overlays)
    _print_summary(report, files)


def _load_examples(data, spec, split, n, input_shape):
    """(images float32 [0,255], labels) of the first ``n`` examples of a split (None: all of it)."""
    import numpy as np

    from zoo.errors import InvalidArgumentError

    from zoo.data import load_examples

    data.split(split)  # an unknown or missing split fails here, with the splits there are
    size = data.sizes.get({"validation": "val", "valid": "val"}.get(split, split))
    if n is None or (size and n > size):
        if not size:
            raise InvalidArgumentError(f"The size of {spec} {split} is unknown; pass --n instead of --all.")
        n = size  # load_examples batches all n at once: never ask for more than there are
    images, labels, _ = load_examples(data, split=split, n=n, input_shape=input_shape)
    return np.asarray(images, "float32"), np.asarray(labels).astype("int32").reshape(-1)


def _read_overlays(paths) -> dict:
    """{label: report} from report.json files written by `zoo attack` (checked before attacking)."""
    import json

    from zoo.errors import InvalidArgumentError

    overlays = {}
    for path in paths:
        try:
            rep = json.loads(Path(path).read_text())
            rep["results"], rep["clean"]["accuracy"]  # noqa: B018  (the keys the curve reads)
        except (OSError, ValueError, KeyError, TypeError):
            raise InvalidArgumentError(
                f"--overlay {path} is not a report.json written by `zoo attack`; pass such a file."
            ) from None
        overlays[Path(rep.get("model", path)).name] = rep
    return overlays


def _pick_grid_eps(eps_values, wanted):
    if wanted is not None:
        return min(eps_values, key=lambda e: abs(e - wanted))
    return 8.0 if 8.0 in eps_values else eps_values[len(eps_values) // 2]


def _write_outputs(run, out_dir: Path, *, png_count: int, grid_eps, overlays=None) -> dict:
    """Report, figures, arrays and PNGs; returns {what: path}."""
    import numpy as np

    from zoo.io import atomic_path, write_json
    from zoo.plots.attack import plot_accuracy_vs_eps, plot_examples, plot_transfer

    report = run.report
    names = report["class_names"]
    files = {}
    curve = out_dir / "accuracy_vs_eps.png"
    name = Path(report["model"]).name
    plot_accuracy_vs_eps(report, curve, title=f"{name}: accuracy under attack ({report['samples']} {report['split']} examples)",
                         extra_curves=overlays, main_label=name)
    files["curve"] = curve

    methods = report["attack"]["methods"]
    strongest = "pgd" if "pgd" in methods else methods[-1]
    eps_values = [r["eps"] for r in report["results"][strongest]]
    e = _pick_grid_eps(eps_values, grid_eps)
    adv, adv_logits = run.adversarial[(strongest, e)]
    # Show what the attack does: first the examples it turned from right to wrong, then others.
    fooled = (run.clean_logits.argmax(1) == run.labels) & (adv_logits.argmax(1) != run.labels)
    order = np.concatenate([np.flatnonzero(fooled), np.flatnonzero(~fooled)])[:6]
    grid = out_dir / "examples.png"
    plot_examples(run.images[order], adv[order], run.labels[order], run.clean_logits[order], adv_logits[order],
                  names, eps=e, method=strongest, path=grid)
    files["grid"] = grid

    for method, transfer in report.get("transfer", {}).items():
        path = out_dir / f"transfer_{method}.png"
        plot_transfer(transfer, path, method)
        files[f"transfer_{method}"] = path

    arrays = {"images": run.images, "labels": run.labels, "attack_labels": run.attack_labels}
    for (method, eps), (adv, logits) in run.adversarial.items():
        arrays[f"{method}_eps{eps:g}"] = adv
        arrays[f"{method}_eps{eps:g}_pred"] = logits.argmax(axis=1)
    npz = out_dir / "adversarial.npz"
    with atomic_path(npz) as tmp:
        np.savez_compressed(tmp, **arrays)
    files["arrays"] = npz
    if png_count:
        files["pngs"] = _write_pngs(run, out_dir / "images", png_count)
    report["files"] = {k: str(v) for k, v in files.items()}
    write_json(out_dir / "report.json", report)
    files["report"] = out_dir / "report.json"
    return files


def _write_pngs(run, root: Path, count: int) -> Path:
    """The first ``count`` clean and adversarial images as 8-bit PNGs (rounded; the .npz is exact)."""
    import numpy as np
    from PIL import Image

    from zoo.io import atomic_path

    names = run.report["class_names"]

    def save(array, path):
        pixels = np.clip(np.rint(array), 0, 255).astype("uint8")
        pixels = pixels[..., 0] if pixels.shape[-1] == 1 else pixels
        with atomic_path(path) as tmp:
            Image.fromarray(pixels).save(tmp, format="PNG")

    count = min(count, len(run.images))
    for i in range(count):
        save(run.images[i], root / "clean" / f"{i:04d}_{_safe(names[run.labels[i]])}.png")
    for (method, eps), (adv, logits) in run.adversarial.items():
        pred = logits.argmax(axis=1)
        for i in range(count):
            true, got = _safe(names[run.labels[i]]), _safe(names[pred[i]])
            save(adv[i], root / f"{method}_eps{eps:g}" / f"{i:04d}_{true}_as_{got}.png")
    return root


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in str(name))


def _print_summary(report: dict, files: dict) -> None:
    from rich.table import Table

    methods = report["attack"]["methods"]
    attack = report["attack"]
    kind = (f"targeted at {attack['target']}" if attack["targeted"] else
            f"untargeted, {attack['labels']} labels")
    table = Table(title=f"{report['model']} on {report['samples']} {report['dataset']} {report['split']} examples "
                  f"({kind}); clean accuracy {report['clean']['accuracy']:.1%}")
    table.add_column("eps", justify="right")
    for m in methods:
        table.add_column(f"{m} acc", justify="right")
        table.add_column(f"{m} succ.", justify="right")
    table.add_column("noise acc", justify="right")
    table.add_column("L2", justify="right")
    noise = {r["eps"]: r["accuracy"] for r in report["noise_baseline"]["rows"]}
    first = report["results"][methods[0]]
    for i, row in enumerate(first):
        cells = [f"{row['eps']:g}"]
        for m in methods:
            r = report["results"][m][i]
            cells += [f"{r['robust_accuracy']:.1%}", "-" if r["success_rate"] is None else f"{r['success_rate']:.1%}"]
        cells += [f"{noise[row['eps']]:.1%}", f"{report['results'][methods[-1]][i]['mean_l2']:.0f}"]
        table.add_row(*cells)
    console.print(table)
    console.print(f"[dim]eps and L2 (mean, of the {methods[-1]} perturbations) in pixel levels out of 255; "
                  "succ. = attack success rate. "
                  f"Noise baseline: {report['noise_baseline']['description']}.[/]")
    for method, transfer in report.get("transfer", {}).items():
        t = Table(title=f"Transfer: accuracy on {method.upper()} examples crafted on {transfer['models'][0]}")
        t.add_column("model")
        for e in transfer["eps"]:
            t.add_column("clean" if e == 0 else f"eps {e:g}", justify="right")
        for name, row in zip(transfer["models"], transfer["accuracy"]):
            t.add_row(name, *[f"{a:.1%}" for a in row])
        console.print(t)
    for flag in report["red_flags"]:
        console.print(f"[bold yellow]Red flag:[/] {escape(flag)}", highlight=False)
    if not report["red_flags"]:
        both = {"fgsm", "pgd"} <= set(methods)
        if attack["targeted"]:
            checks = "targeted success does not fall with eps" + (", pgd hits the target at least as often as fgsm" if both else "")
        else:
            checks = "accuracy falls with eps, the attacks beat random noise" + (", pgd is at least as strong as fgsm" if both else "")
        console.print(f"[green]No red flags[/] ({checks}).")
    console.print(f"Wrote {files['report']}, {files['curve'].name}, {files['grid'].name}, {files['arrays'].name}"
                  + (f", PNGs under {files['pngs']}" if "pngs" in files else "") + f" in {files['report'].parent}",
                  markup=False)

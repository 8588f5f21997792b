"""`zoo attack`: adversarial examples (the attacks of zoo/attack/attacks/), robustness report, transferability."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from rich.markup import escape

from zoo.attack.registry import ATTACKS
from zoo.cli.common import complete_run_or_model, console, console_progress, friendly_errors, print_table
from zoo.rundir import ATTACK_DIR, CONFIG_FILE, REPORT_FILE

DEFAULT_EPS = "2,4,8,16,32"
# the records of zoo/attack/attacks/, read without TensorFlow, weakest first
WEAKEST, STRONGEST = ATTACKS.names()[0], ATTACKS.names()[-1]
METHOD_HELP = ", ".join(ATTACKS.names()) + f"; several comma-separated ({WEAKEST},{STRONGEST})."
# what --steps, --step-size and --random-start say, from the records at eps 8
_AT8 = {a.name: a.settings(8.0, None, None, None) for a in ATTACKS}
ITERATIVE = "/".join(name for name, s in _AT8.items() if s.steps > 1)
STEPS_HELP = f"Iterations of {ITERATIVE} (default " + ", ".join(
    f"{name} {s.steps}" for name, s in _AT8.items() if s.steps > 1) + ")."
STEP_SIZE_HELP = f"Step of {ITERATIVE} in pixel levels (default at eps 8: " + ", ".join(
    f"{name} {s.step_size:g}" for name, s in _AT8.items() if s.steps > 1) + ")."
RANDOM_START_HELP = f"Start {ITERATIVE} at a random point of the eps-ball (default on for " + (
    ", ".join(n for n, s in _AT8.items() if s.steps > 1 and s.random_start) or "none") + ")."


def register(app: typer.Typer) -> None:
    app.command("attack")(attack_command)


def parse_eps_list(text: str, scale: str) -> list[float]:
    """'2,4,8' -> [2.0, 4.0, 8.0] pixel levels; with scale 'unit', '0.01,0.03' -> [2.55, 7.65]."""
    return sorted({value * (255.0 if scale.strip().lower() == "unit" else 1.0) for value in parse_eps_text(text, scale)})


def parse_eps_text(text: str, scale: str) -> list[float]:
    """The numbers of --eps as given (in the --eps-scale unit), checked."""
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
            check_eps(value * 255.0, "eps")
        else:
            check_eps(value, "eps")
        values.append(value)
    return values


def parse_methods(text: str, compare: bool) -> list[str]:
    from zoo.attack.registry import check_method

    chosen = [check_method(m) for m in str(text).split(",") if m.strip()]
    if compare:
        chosen += [WEAKEST, STRONGEST]
    return [m for m in ATTACKS.names() if m in chosen]


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
    steps: Optional[int] = typer.Option(None, "--steps", help=STEPS_HELP),
    step_size: Optional[float] = typer.Option(None, "--step-size", help=STEP_SIZE_HELP),
    random_start: Optional[bool] = typer.Option(None, "--random-start/--no-random-start", help=RANDOM_START_HELP),
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
    out: Optional[Path] = typer.Option(None, "--out", help=f"Output directory (default: RUN/{ATTACK_DIR}, or MODEL_{ATTACK_DIR}/ next to a .keras file)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the random starts and the noise baseline (and of the val split "
                                               f"when the model has no run {CONFIG_FILE}; a run's own dataset uses its "
                                               "training seed and val split)."),
    eval_on: Optional[List[Path]] = typer.Option(
        None, "--eval-on", help="Runs/models to evaluate the crafted examples on (transferability): --eval-on RUN2 RUN3 ..."
    ),
    png_count: int = typer.Option(16, "--png-count", help="Adversarial images saved as PNG per method and eps."),
    grid_eps: Optional[float] = typer.Option(None, "--grid-eps", help="eps shown in the example grid (default 8 if given, else the middle eps)."),
    overlay: Optional[List[Path]] = typer.Option(
        None, "--overlay", help=f"{REPORT_FILE} of an earlier `zoo attack` to draw in the curve too (e.g. a normally trained model)."
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
        raise InvalidArgumentError(f"--method needs {', '.join(ATTACKS.names())}; got {method!r}.")
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

    from zoo.attack.task import run_attack

    result = run_attack(
        model_path, methods=methods, eps_values=parse_eps_text(eps, eps_scale), dataset=dataset, split=split,
        n=None if all_examples else n, data_dir=data_dir, target=target, use_labels=not no_labels, steps=steps,
        step_size=step_size, random_start=random_start, batch_size=batch_size, seed=seed, input_scale=input_scale,
        eval_on=[*(eval_on or []), *(extra_eval_on or [])], out=out, png_count=png_count, grid_eps=grid_eps,
        overlay=overlay or [], eps_scale=eps_scale.strip().lower(), progress=console_progress)
    _print_summary(result.report, result.files)


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
    print_table(table, drop=("L2", "noise acc"), hint=f"{files['report']} has everything")
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
        print_table(t)
    for flag in report["red_flags"]:
        console.print(f"[bold yellow]Red flag:[/] {escape(flag)}", highlight=False)
    if not report["red_flags"]:
        base = next((m for m in methods if ATTACKS.get(m).single_step), None)  # the red flags' baseline
        top = max(methods, key=lambda m: ATTACKS.get(m).strength)
        both = base is not None and ATTACKS.get(top).strength > ATTACKS.get(base).strength
        if attack["targeted"]:
            checks = "targeted success does not fall with eps" + (
                f", {top} hits the target at least as often as {base}" if both else "")
        else:
            checks = "accuracy falls with eps, the attacks beat random noise" + (
                f", {top} is at least as strong as {base}" if both else "")
        console.print(f"[green]No red flags[/] ({checks}).")
    console.print(f"Wrote {files['report']}, {files['curve'].name}, {files['grid'].name}, {files['arrays'].name}"
                  + (f", PNGs under {files['pngs']}" if "pngs" in files else "") + f" in {files['report'].parent}",
                  markup=False)

"""`zoo explain`: saliency heatmaps, the randomisation sanity check, the first layer's kernels."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from rich.markup import escape

from zoo.cli.common import complete_run_or_model, console, console_progress, friendly_errors
from zoo.explain.registry import EXPLAIN_METHODS, settings
from zoo.rundir import EXPLAIN_DIR, default_out_dir

# choices, defaults and help come from the method records (zoo/explain/methods/), read without TensorFlow
SETTINGS = settings()
METHOD_HELP = " | ".join([*EXPLAIN_METHODS.names(), "all"]) + " (all: " + ", ".join(
    m.name for m in EXPLAIN_METHODS if m.in_all) + ")"


def _help(name: str) -> str:
    """A dedicated option's help: the setting's own, with the default of each method that has it."""
    owners = [(m, s) for m, r in EXPLAIN_METHODS.records().items() for s in r.settings if s.name == name]
    return owners[0][1].help + " [default: " + ", ".join(sorted({f"{s.default}" for _, s in owners})) + "]"


def register(app: typer.Typer) -> None:
    app.command("explain", no_args_is_help=True)(explain)


@friendly_errors
def explain(
    model: str = typer.Argument(..., metavar="RUN_OR_MODEL", help="A run directory or a .keras file.",
                               autocompletion=complete_run_or_model),
    more_images: Optional[List[str]] = typer.Argument(
        None, metavar="FILES", help="More image files (so `--images a.png b.png` works too).",
        show_default=False),
    images: Optional[List[str]] = typer.Option(
        None, "--images", "-i", metavar="FILE",
        help="Image file (PNG/JPEG, any size, gray or colour); repeat the option or list files after it."),
    dataset: Optional[str] = typer.Option(
        None, "--dataset", "-d", help="Explain dataset images instead (default: the run's dataset)."),
    split: str = typer.Option("test", "--split", help="Dataset split."),
    n: int = typer.Option(16, "--n", help="How many dataset images."),
    data_dir: Optional[str] = typer.Option(None, "--data-dir", help="Where the dataset files are."),
    method: str = typer.Option(
        "all", "--method", "-m",
        help=METHOD_HELP),
    samples: Optional[int] = typer.Option(None, "--samples", help=_help("samples"), show_default=False),
    noise: Optional[float] = typer.Option(None, "--noise", help=_help("noise"), show_default=False),
    steps: Optional[int] = typer.Option(None, "--steps", help=_help("steps"), show_default=False),
    target: str = typer.Option(
        "predicted", "--target", "-t", help="Class to explain: predicted, true, a class name or an index."),
    layer: Optional[str] = typer.Option(None, "--layer", help=SETTINGS["layer"].help),
    more_settings: Optional[List[str]] = typer.Option(
        None, "--set", metavar="NAME=VALUE", help="Any method setting: NAME=VALUE for every method that has it, "
        "METHOD.NAME=VALUE for one (e.g. --set integrated-gradients.max_steps=400; one per --set): " + "; ".join(
            f"{m}: {', '.join(s.name for s in r.settings)}" for m, r in EXPLAIN_METHODS.records().items() if r.settings) + "."),
    batch_size: int = typer.Option(64, "--batch-size", help="Gradient items per compiled chunk (bounds memory)."),
    input_scale: str = typer.Option(
        "auto", "--input-scale", help="What a model the zoo did not make expects: 255 (pixels as they are), 1 "
        "(divided by 255) or standardize (then per-channel mean/std of the images given); auto: 255, with a "
        "note when the model does not start with a Rescaling/Normalization layer."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help=f"Output directory (default: RUN/{EXPLAIN_DIR})."),
    seed: int = typer.Option(0, "--seed", help="Seed of the dataset sample, the noise and the sanity check "
                                               "(a run's own dataset keeps its training seed and val split)."),
    sanity: bool = typer.Option(
        False, "--sanity", help="Also run the cascading model-randomisation check (Adebayo et al. 2018)."),
    filters: bool = typer.Option(
        False, "--filters", help="Only draw the first conv layer's learned kernels."),
) -> None:
    """Saliency heatmaps (the methods of zoo/explain/methods/: gradient, SmoothGrad, Integrated Gradients,
    Grad-CAM, occlusion ...) for a trained model."""
    from zoo import checks
    from zoo.explain.registry import check_settings, resolve_methods

    # cheap checks first: a typo should not cost a model load
    from zoo.explain.registry import parse_setting

    methods = resolve_methods(method)
    given = {k: v for k, v in {"samples": samples, "noise": noise, "steps": steps, "layer": layer}.items()
             if v is not None}
    given.update(parse_setting(text) for text in more_settings or [])
    check_settings(**given)
    checks.positive_int(batch_size, "batch_size")
    checks.positive_int(n, "n", note=" (of images)")
    files = [*(images or []), *(more_images or [])]
    if files and dataset:
        from zoo.errors import InvalidArgumentError

        raise InvalidArgumentError(
            f"Pass either image files or --dataset, not both (got {len(files)} file(s) and --dataset {dataset})."
        )

    from zoo.explain.task import run_explain, run_filters

    out_dir = Path(out) if out is not None else default_out_dir(model, EXPLAIN_DIR)
    if filters:
        path = run_filters(model, out_dir, layer=layer)
        console.print(f"Kernels: [bold]{escape(str(path))}[/]")
        return
    result = run_explain(
        model, out_dir, files=files, dataset=dataset, split=split, n=n, data_dir=data_dir, methods=methods,
        target=target, batch_size=batch_size, **given, seed=seed, sanity=sanity, input_scale=input_scale,
        progress=console_progress,
    )
    print_summary(result)


def print_summary(result) -> None:
    """What the methods' report hooks said, the sanity table, and the files written."""
    from rich.table import Table

    from zoo.explain.registry import EXPLAIN_METHODS

    titles = {m: r.title for m, r in EXPLAIN_METHODS.records().items()}
    summary = result.summary
    for m, lines in result.notes.items():
        for line in lines:
            console.print(f"{titles[m]}: {escape(line)}", highlight=False)
    if "sanity" in summary:
        sanity = summary["sanity"]
        steps = next(iter(sanity.values()))["steps"]
        table = Table(title="Sanity check: Spearman rank correlation with the original maps", title_style="bold")
        table.add_column("layers re-initialised")
        for m in sanity:
            table.add_column(titles[m], justify="right")
        for k, s in enumerate(steps):  # one row per step: deep models have dozens
            table.add_row("none (original)" if k == 0 else f"+{s}",
                          *[f"{r['mean_spearman'][k]:+.2f}" for r in sanity.values()])
        console.print(table)
        for m, r in sanity.items():
            if r["survived_randomisation"]:
                console.print(
                    f"[bold yellow]WARNING:[/] {titles[m]} maps survive randomisation (Spearman "
                    f"{r['final_spearman']:+.2f} >= {r['threshold']} with every layer random): they show the "
                    "input more than what the model learned."
                )
            else:
                console.print(f"[green]ok:[/] {titles[m]} maps change when the model is randomised "
                              f"(final Spearman {r['final_spearman']:+.2f}).")
    console.print(f"Wrote {len(result.figures)} figure(s) and the raw maps (.npy) to [bold]{escape(str(result.out_dir))}[/]:")
    for p in result.figures:
        console.print(f"  {escape(str(p))}", highlight=False)


"""`zoo explain`: saliency heatmaps, the randomisation sanity check, the first layer's kernels."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from rich.markup import escape

from zoo.cli.common import complete_run_or_model, console, friendly_errors
from zoo.explain.registry import explain_methods, settings

# choices, defaults and help come from the method records (zoo/explain/methods/), read without TensorFlow
SETTINGS = settings()
METHOD_HELP = " | ".join([*explain_methods(), "all"]) + " (all: " + ", ".join(
    m.name for m in explain_methods().values() if m.in_all) + ")"


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
    samples: int = typer.Option(SETTINGS["samples"].default, "--samples", help=SETTINGS["samples"].help),
    noise: float = typer.Option(SETTINGS["noise"].default, "--noise", help=SETTINGS["noise"].help),
    steps: int = typer.Option(SETTINGS["steps"].default, "--steps", help=SETTINGS["steps"].help),
    target: str = typer.Option(
        "predicted", "--target", "-t", help="Class to explain: predicted, true, a class name or an index."),
    layer: Optional[str] = typer.Option(None, "--layer", help=SETTINGS["layer"].help),
    more_settings: Optional[List[str]] = typer.Option(
        None, "--set", metavar="NAME=VALUE", help="Any method setting by name, e.g. --set steps=20 (one per --set): "
        + ", ".join(sorted(SETTINGS)) + "."),
    batch_size: int = typer.Option(64, "--batch-size", help="Gradient items per compiled chunk (bounds memory)."),
    input_scale: str = typer.Option(
        "auto", "--input-scale", help="What a model the zoo did not make expects: 255 (pixels as they are), 1 "
        "(divided by 255) or standardize (then per-channel mean/std of the images given); auto: 255, with a "
        "note when the model does not start with a Rescaling/Normalization layer."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Output directory (default: RUN/explain)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the dataset sample, the noise and the sanity check "
                                               "(a run's own dataset keeps its training seed and val split)."),
    sanity: bool = typer.Option(
        False, "--sanity", help="Also run the cascading model-randomisation check (Adebayo et al. 2018)."),
    filters: bool = typer.Option(
        False, "--filters", help="Only draw the first conv layer's learned kernels."),
) -> None:
    """Saliency heatmaps (gradient, SmoothGrad, Integrated Gradients, Grad-CAM) for a trained model."""
    from zoo import checks
    from zoo.explain.registry import check_settings, resolve_methods

    # cheap checks first: a typo should not cost a model load
    from zoo.explain.registry import parse_setting

    methods = resolve_methods(method)
    given = {"samples": samples, "noise": noise, "steps": steps, "layer": layer,
             **dict(parse_setting(text) for text in more_settings or [])}
    check_settings(**given)
    checks.positive_int(batch_size, "batch_size")
    checks.positive_int(n, "n", note=" (of images)")
    files = [*(images or []), *(more_images or [])]
    if files and dataset:
        from zoo.errors import InvalidArgumentError

        raise InvalidArgumentError(
            f"Pass either image files or --dataset, not both (got {len(files)} file(s) and --dataset {dataset})."
        )

    from zoo.explain.report import run_explain, run_filters

    out_dir = Path(out) if out is not None else default_out_dir(model)
    if filters:
        path = run_filters(model, out_dir, layer=layer)
        console.print(f"Kernels: [bold]{escape(str(path))}[/]")
        return
    run_explain(
        model, out_dir, files=files, dataset=dataset, split=split, n=n, data_dir=data_dir, methods=methods,
        target=target, batch_size=batch_size, **given,
        seed=seed, sanity=sanity, console=console, input_scale=input_scale,
    )


def default_out_dir(model: str) -> Path:
    p = Path(model)
    return p / "explain" if p.is_dir() else p.parent / f"{p.stem}_explain"


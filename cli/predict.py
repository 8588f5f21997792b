"""`zoo predict`: classify image files with a trained model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import List, Optional

import typer

from rich.markup import escape as _escape

from zoo.cli.common import complete_run_or_model, console, friendly_errors, print_table
from zoo.tta import TTA_HELP


def register(app: typer.Typer) -> None:
    app.command("predict", no_args_is_help=True)(predict_command)


@friendly_errors
def predict_command(
    model: str = typer.Argument(..., metavar="MODEL_OR_RUN",
                                help="A run directory, a .keras file (an ensemble too) or a shipped model's name.",
                                autocompletion=complete_run_or_model),
    images: List[Path] = typer.Argument(..., metavar="IMAGES...", help="Image files (any size, grey or colour) or folders of them."),
    top: int = typer.Option(5, "--top", help="How many classes to list per image."),
    json_output: bool = typer.Option(False, "--json", help="Print one JSON object only."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Write a contact sheet PNG here (top classes under each image)."),
    input_scale: str = typer.Option(
        "auto", "--input-scale", help="What a model the zoo did not make expects: 255 (pixels as they are), 1 "
        "(divided by 255) or standardize (then per-channel mean/std of the images given); auto: 255, with a "
        "note when the model does not start with a Rescaling/Normalization layer."),
    tta: str = typer.Option("none", "--tta", help=TTA_HELP),
) -> None:
    """Class names and probabilities for each image."""
    from zoo.predict import predict_images

    result = predict_images(model, images, top=top, sheet=out, input_scale=input_scale, tta=tta)
    if json_output:
        typer.echo(json.dumps(result.to_dict()))
        return
    from rich.table import Table

    for note in result.notes:
        console.print(f"[dim]{_escape(note)}[/]", highlight=False)
    table = Table(title=f"{_escape(model)}: top {min(top, len(result.class_names))} of {len(result.class_names)} classes"
                        + ("" if result.tta == "none" else f" (TTA {result.tta})"))
    table.add_column("image", overflow="fold")
    table.add_column("prediction")
    table.add_column("probability", justify="right")
    table.add_column("next", overflow="fold")
    for p in result.predictions:
        (best, prob), rest = p.top[0], p.top[1:]
        table.add_row(_escape(p.path), _escape(best), f"{prob:.1%}", _escape(", ".join(f"{c} {q:.1%}" for c, q in rest)))
    print_table(table, drop=("next", "probability"), hint="--json has everything")
    if result.sheet:
        console.print(f"Wrote {result.sheet}", markup=False, highlight=False)

"""`zoo export`: SavedModel, TFLite or ONNX, each reloaded and checked against the Keras model."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from zoo.cli.common import complete_run_or_model, console, friendly_errors


def register(app: typer.Typer) -> None:
    app.command("export", no_args_is_help=True)(export_command)


@friendly_errors
def export_command(
    model: str = typer.Argument(..., metavar="MODEL_OR_RUN",
                                help="A run directory, a .keras file (an ensemble too) or a shipped model's name.",
                                autocompletion=complete_run_or_model),
    fmt: str = typer.Option(..., "--format", "-f", help="savedmodel (a directory), tflite or onnx (a file)."),
    out: Path = typer.Option(..., "--out", "-o", help="Where to write it (.tflite / .onnx for those formats)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing --out."),
    json_output: bool = typer.Option(False, "--json", help="Print one JSON object only."),
) -> None:
    """Export MODEL for deployment, reload the export and compare its logits with the Keras model's."""
    from zoo.export import export_model

    result = export_model(model, fmt, out, overwrite=overwrite)
    if json_output:
        typer.echo(json.dumps(result.to_dict()))
        return
    console.print(f"Wrote {result.path} ({result.format}, {result.bytes / 1e6:.2f} MB). Reloaded and checked on "
                  f"{result.images_checked} images: largest logit difference {result.max_abs_diff:.2g} "
                  f"(logits up to {result.logit_scale:.3g}).", markup=False, highlight=False)

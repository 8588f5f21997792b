"""`zoo features`: penultimate-layer features of a trained model, with labels, to an .npz file."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from rich.markup import escape

from zoo.cli.common import console, console_progress, friendly_errors


def register(app: typer.Typer) -> None:
    app.command("features", no_args_is_help=True)(features)


@friendly_errors
def features(
    run: str = typer.Argument(..., metavar="RUN_OR_MODEL", help="A run directory or a .keras file."),
    out: Path = typer.Option(..., "--out", "-o", help="The .npz file to write (features, labels, class_names)."),
    dataset: Optional[str] = typer.Option(None, "--dataset", "-d", help="Data to featurize (default: the run's dataset)."),
    split: str = typer.Option("test", "--split", help="Dataset split."),
    data_dir: Optional[str] = typer.Option(None, "--data-dir", help="Where the dataset files are."),
    limit: Optional[int] = typer.Option(None, "--limit", help="At most this many examples."),
    batch_size: int = typer.Option(256, "--batch-size", help="Batch size."),
    layer: Optional[str] = typer.Option(
        None, "--layer", help="Take this layer's output instead of the penultimate features "
                              "(flattened, or average-pooled when larger than 4096 values)."),
) -> None:
    """Export penultimate-layer features (the input of the final Dense) with labels to an .npz file."""
    from zoo.features import export_run_features

    summary = export_run_features(run, out, dataset=dataset, split=split, data_dir=data_dir, limit=limit,
                                  batch_size=batch_size, layer=layer, progress=console_progress)
    console.print(f"Wrote {summary['num_examples']} x {summary['dim']} features with labels to [bold]{escape(str(out))}[/]")

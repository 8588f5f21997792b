"""`zoo data preview`, `zoo data download`, `zoo data augmentations`."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


from zoo.cli.common import console, friendly_errors, print_table

data_app = typer.Typer(help="Look at datasets and augmentation.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(data_app, name="data")
    data_app.command("preview")(preview_command)
    data_app.command("download")(download_command)
    data_app.command("augmentations")(augmentations_command)


@friendly_errors
def preview_command(
    dataset: str = typer.Argument("fashion_mnist", help="fashion_mnist, mnist, tfds:NAME, folder:PATH, npz:PATH."),
    augment: str = typer.Option("standard", "--augment", "-a", help="Preset (none, light, standard, strong) or a list."),
    n: int = typer.Option(16, "--n", help="Number of images."),
    out: Path = typer.Option(Path("grid.png"), "--out", "-o", help="PNG to write."),
    seed: int = typer.Option(0, "--seed", help="Seed for the augmentation draw."),
    split: str = typer.Option("train", "--split", help="train, val or test."),
    draws: int = typer.Option(1, "--draws", help="Augmented rows per original row (different random draws)."),
    data_dir: Optional[Path] = typer.Option(None, "--data-dir", help="Where the dataset files are."),
) -> None:
    """Write a grid of the same images before and after augmentation."""
    from zoo.plots.data import preview_augmentation

    shown = preview_augmentation(dataset, out, augment=augment, n=n, seed=seed, split=split, draws=draws,
                                 data_dir=data_dir)
    console.print(f"Wrote {out} ({shown} images of {dataset} {split}, augment={augment}).", markup=False)


@friendly_errors
def download_command(
    dataset: str = typer.Argument(..., help="fashion_mnist, mnist or tfds:NAME."),
    data_dir: Optional[Path] = typer.Option(None, "--data-dir", help="TFDS data dir [default: ~/tensorflow_datasets]."),
) -> None:
    """Download and prepare a dataset through TFDS."""
    from zoo.data.sources import download

    where = download(dataset, data_dir)
    console.print(f"{dataset} is ready in {where}.", markup=False)


@friendly_errors
def augmentations_command() -> None:
    """List augmentation presets and names (use them with --augment)."""
    from rich.table import Table

    from zoo.data import describe_augmentations

    table = Table(title="Augmentation (--augment preset, or a list like flip,rotate=0.1)")
    table.add_column("Name", style="bold")
    table.add_column("Default strength")
    table.add_column("What it does")
    for name, default, text in describe_augmentations():
        table.add_row(name, default, text)
    print_table(table, drop=("What it does", "Default strength"))

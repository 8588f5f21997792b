"""`zoo datasets`: every dataset, where it was found or how to get it, classes and sizes."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from zoo.cli.common import friendly_errors, print_table


def register(app: typer.Typer) -> None:
    app.command("datasets")(datasets_command)


def _sizes(sizes: dict) -> str:
    return "\n".join(f"{n:,} {split}" for split, n in sizes.items()) or "-"


def _classes(classes) -> str:
    if not classes:
        return "from the data"
    shown = ", ".join(classes[:10]) + (" ..." if len(classes) > 10 else "")
    return f"{len(classes)}: {shown}"


@friendly_errors
def datasets_command(
    data_dir: Optional[Path] = typer.Option(None, "--data-dir", help="Also look here (and $ZOO_DATA_DIR)."),
) -> None:
    """List the datasets: where each was found or how to get it, classes and sizes."""
    from rich.table import Table

    from zoo.data import available_datasets

    table = Table(title="Datasets", show_lines=True)
    table.add_column("Dataset", style="bold", no_wrap=True)
    table.add_column("Found at / how to get it", overflow="fold")
    table.add_column("Classes", overflow="fold")
    table.add_column("Examples", no_wrap=True)
    for row in available_datasets(data_dir):
        if row["found"] is True:
            where = f"[green]found[/]\n{row['where']}"
        elif row["found"] is False:
            where = f"[yellow]missing[/]: {row['where']}"
        else:
            where = f"{row['title']}; {row['where']}"
        name = row["name"] if row["found"] is None else f"{row['name']}\n[dim]{row['title']}[/]"
        table.add_row(name, where, _classes(row["classes"]), _sizes(row["sizes"]))
    print_table(table, drop=("Classes", "Found at / how to get it", "Examples"))

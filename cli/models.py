"""`zoo models`: the registry as a table (`zoo info MODEL` shows one model in detail)."""

from __future__ import annotations

from typing import Optional

import typer

from zoo.cli.common import console, friendly_errors, print_table


def register(app: typer.Typer) -> None:
    app.command("models")(models_command)


@friendly_errors
def models_command(
    pattern: Optional[str] = typer.Argument(None, help="Only models whose name or family matches (glob or substring), e.g. 'resnet*' or small."),
    markdown: bool = typer.Option(False, "--markdown", help="Print a markdown table (the one in docs/models.md)."),
) -> None:
    """List the models: family, default input, params, forward FLOPs per image, shipped weights."""
    from zoo.catalog import catalog_rows, human, markdown_table
    from zoo.errors import UnknownNameError, close_matches_hint

    # Counts come from the catalogue generated from the registry (checked by tests/test_catalog.py),
    # so listing builds no model and imports no TensorFlow.
    rows = catalog_rows(pattern)
    if not rows:
        names = [row["name"] for row in catalog_rows()]
        raise UnknownNameError(f"No model matches {pattern!r}." + close_matches_hint(pattern, names))

    if markdown:
        typer.echo(markdown_table(rows), nl=False)
        return

    from rich.table import Table

    table = Table(title=f"Models ({len(rows)})", caption="FLOPs: one forward pass of one image (multiply-add = 2).")
    table.add_column("Model", style="bold", no_wrap=True)
    table.add_column("Family", no_wrap=True)
    table.add_column("Input", no_wrap=True)
    table.add_column("Params", justify="right", no_wrap=True)
    table.add_column("FLOPs", justify="right", no_wrap=True)
    table.add_column("Weights", no_wrap=True)
    for row in rows:
        table.add_row(
            row["name"],
            row["family"],
            "x".join(map(str, row["input_shape"])),
            f"{row['trainable_params']:,}",
            human(row["flops"]),
            "[green]shipped[/]" if row["weights_shipped"] else "-",
        )
    print_table(table, drop=("FLOPs", "Family", "Input"), hint="`zoo models --markdown` has everything")
    console.print("[dim]Details: zoo info MODEL [--input-shape H,W,C] [--classes N][/]")

"""`zoo weights` (the shipped trained models) and `zoo weights verify` (checksums, accuracy)."""

from __future__ import annotations

import json
from typing import List, Optional

import typer

from zoo.cli.common import console, friendly_errors, print_table

weights_app = typer.Typer(help="The trained models shipped with zoo: list them, verify them.",
                          invoke_without_command=True, no_args_is_help=False)


def register(app: typer.Typer) -> None:
    app.add_typer(weights_app, name="weights")


@weights_app.callback()
@friendly_errors
def weights_command(
    ctx: typer.Context,
    json_output: bool = typer.Option(False, "--json", help="Print the manifest entries as JSON."),
    names_only: bool = typer.Option(False, "--names", help="Print only the names, one a line (for scripts)."),
) -> None:
    """List the shipped models: test accuracy, size, training time and recipe."""
    if ctx.invoked_subcommand is not None:
        return
    from rich.table import Table

    from zoo.registry import load_weights_manifest

    manifest = load_weights_manifest()
    if json_output:
        typer.echo(json.dumps(manifest))
        return
    if names_only:
        for name in manifest:
            typer.echo(name)
        return
    table = Table(title=f"Shipped weights ({len(manifest)})",
                  caption="Fashion-MNIST test set (10,000 images), one model; Test acc is one view, TTA flip and "
                          "TTA flip+shift average the logits of the mirrored (and 1 px shifted) views (--tta).")
    for col, justify in (("Model", "left"), ("Test acc", "right"), ("TTA flip", "right"), ("TTA flip+shift", "right"),
                         ("Top-5", "right"), ("Size", "right"), ("Trained", "right"), ("Recipe", "left")):
        table.add_column(col, justify=justify, no_wrap=True)
    for name, entry in manifest.items():
        m = entry.get("metrics", {})
        secs = entry.get("train_seconds")
        size = entry.get("size_bytes")
        tta = m.get("test_accuracy_tta", {})
        table.add_row(name, f"{m['test_accuracy']:.2%}",
                      *(f"{tta[t]:.2%}" if t in tta else "-" for t in ("flip", "flip+shift")),
                      f"{m['test_top5']:.2%}" if m.get("test_top5") is not None else "-",
                      f"{size / 1e6:.1f} MB" if size else "-",
                      f"{secs / 60:.0f} min" if secs else "-",
                      f"--recipe {entry['recipe']}" if entry.get("recipe") else "-")
    print_table(table, drop=("Top-5", "Trained", "Size", "Recipe", "TTA flip+shift"),
                hint="`zoo weights --json` has everything")
    console.print("Use a name wherever a run directory goes, e.g. `zoo eval vgg_small`; in Python "
                  "`zoo.create_model(NAME, pretrained=True)`.", highlight=False, markup=False)


@weights_app.command("verify")
@friendly_errors
def verify_command(
    names: Optional[List[str]] = typer.Argument(None, help="Shipped models to check [default: all]."),
    accuracy: bool = typer.Option(False, "--accuracy", help="Also re-measure each model's test accuracy."),
    limit: Optional[int] = typer.Option(None, "--limit", help="With --accuracy: only this many test images "
                                        "(a quick look; the comparison needs the whole set)."),
) -> None:
    """Re-check every shipped file's sha256 (and, with --accuracy, its test accuracy)."""
    from zoo.errors import ModelFileError
    from zoo.shipping import verify_weights

    rows = verify_weights(names, accuracy=accuracy, limit=limit)
    for row in rows:
        measured = "" if row.measured_accuracy is None else (
            f", test accuracy {row.measured_accuracy:.2%} (manifest {row.recorded_accuracy:.2%})")
        if row.ok:
            console.print(f"ok      {row.name}: {row.file} sha256 matches{measured}", highlight=False, markup=False)
        else:
            console.print(f"FAILED  {row.name}: {row.problem}", highlight=False, markup=False)
    bad = [r.name for r in rows if not r.ok]
    if bad:
        raise ModelFileError(f"{len(bad)} of {len(rows)} shipped models failed verification: {', '.join(bad)}.")

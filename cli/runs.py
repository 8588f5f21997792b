"""`zoo runs`: the run directories under a folder, or their curves overlaid."""

from __future__ import annotations

import json
from pathlib import Path
from typing import List, Optional

import typer

from rich.markup import escape as _escape

from zoo.cli.common import console, friendly_errors, print_table
from zoo.rundir import CURVES_FILE


def register(app: typer.Typer) -> None:
    app.command("runs")(runs_command)


@friendly_errors
def runs_command(
    root: Path = typer.Argument(Path("runs"), metavar="[DIR]", help="Folder holding run directories."),
    compare: Optional[List[Path]] = typer.Option(
        None, "--compare", help="Runs whose curves to overlay (repeat, or list them after it)."),
    more: Optional[List[Path]] = typer.Argument(None, hidden=True, metavar="RUNS", help="More --compare runs."),
    out: Path = typer.Option(Path(CURVES_FILE), "--out", "-o", help="With --compare: the figure to write."),
    json_output: bool = typer.Option(False, "--json", help="Print the table as JSON."),
) -> None:
    """A table of the runs under DIR: model, dataset, epochs, state, best val and test accuracy, time."""
    from zoo.runs import compare_runs, list_runs

    if compare:
        # `zoo runs --compare A B C`: typer gives the first to --compare and the rest as arguments
        paths = list(compare) + ([root] if root != Path("runs") else []) + list(more or [])
        labels = compare_runs(paths, out)
        console.print(f"Wrote {out} ({', '.join(labels)})", markup=False, highlight=False)
        return
    runs = list_runs(root)
    if json_output:
        typer.echo(json.dumps([r.to_dict() for r in runs]))
        return
    from rich.table import Table

    datasets = {r.dataset for r in runs}
    one_dataset = len(datasets) == 1  # then it goes in the title: an 80-column terminal fits the rest
    title = f"Runs under {_escape(str(root))} ({len(runs)})" + (f", all on {_escape(datasets.pop())}" if one_dataset else "")
    table = Table(title=title)
    columns = [("run", "left"), ("model", "left"), ("dataset", "left"), ("epochs", "right"), ("state", "left"),
               ("best val", "right"), ("test", "right"), ("precision", "left"), ("time", "right")]
    for col, justify in columns:
        if not (one_dataset and col == "dataset"):
            table.add_column(col, justify=justify, overflow="fold", no_wrap=col != "run")
    colour = {"finished": "green", "running": "cyan", "resumable": "yellow", "interrupted": "red", "failed": "red"}
    for r in runs:
        cells = [_escape(_relative(r.path, root)), _escape(r.model)] + ([] if one_dataset else [_escape(r.dataset)])
        cells += [f"{r.epochs_done}/{r.epochs_planned if r.epochs_planned is not None else '?'}",
                  f"[{colour[r.state]}]{r.state}[/]" + (" [red](learned nothing)[/]" if r.learned_nothing else ""),
                  "-" if r.best_val_accuracy is None else f"{r.best_val_accuracy:.2%}",
                  "-" if r.test_accuracy is None else f"{r.test_accuracy:.2%}",
                  {"mixed_bfloat16": "bf16", "mixed_float16": "fp16"}.get(r.precision or "", r.precision or "-"),
                  "-" if r.seconds is None else _duration(r.seconds)]
        table.add_row(*cells)
    print_table(table, drop=("precision", "time", "dataset", "epochs", "best val"),
                hint="`zoo runs --json` has everything")
    if any(r.state == "resumable" for r in runs):
        console.print("Continue a resumable run with `zoo train MODEL --out RUN --resume`.", markup=False,
                      highlight=False)


def _relative(path: str, root: Path) -> str:
    try:
        return str(Path(path).relative_to(root)) if Path(path) != root else str(root)
    except ValueError:
        return path




def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min"

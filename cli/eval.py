"""`zoo eval`: parse options, call zoo.evaluation (or the ensemble evaluation), print with rich."""

from __future__ import annotations

import json
from pathlib import Path
from typing import List, Optional

import typer

from rich.markup import escape

from zoo.cli.common import complete_run_or_model, console, friendly_errors, print_table
from zoo.rundir import COMPARE_FILE, CONFUSION_FILE, METRICS_FILE
from zoo.tta import TTA_HELP


def register(app: typer.Typer) -> None:
    app.command("eval")(eval_command)


@friendly_errors
def eval_command(
    paths: List[Path] = typer.Argument(..., metavar="RUN_OR_MODEL", help="Run directories or .keras files (several: an ensemble).",
                                       autocompletion=complete_run_or_model),
    dataset: Optional[str] = typer.Option(None, "--dataset", "-d", help="Dataset [default: the run's, else fashion_mnist]."),
    split: str = typer.Option("test", "--split", help="train, val or test."),
    data_dir: Optional[Path] = typer.Option(None, "--data-dir", help="Where the dataset files are."),
    limit: Optional[int] = typer.Option(None, "--limit", help="Evaluate at most this many examples."),
    batch_size: int = typer.Option(256, "--batch-size", "-b", help="Batch size for inference."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help=f"Write {METRICS_FILE} and {CONFUSION_FILE} here."),
    ensemble: Optional[str] = typer.Option(None, "--ensemble", help="Combine several models: vote or soft."),
    compare: bool = typer.Option(False, "--compare", help="Evaluate each model on its own: one table, one row each."),
    json_output: bool = typer.Option(False, "--json", help="Print one JSON object only."),
    input_scale: str = typer.Option(
        "auto", "--input-scale", help="What a model the zoo did not make expects: 255 (pixels as they are), 1 "
        "(divided by 255) or standardize (then per-channel mean/std of the images given); auto: 255, with a "
        "note when the model does not start with a Rescaling/Normalization layer."),
    tta: str = typer.Option("none", "--tta", help=TTA_HELP),
    select: bool = typer.Option(False, "--select", help="With --ensemble: also ensemble selection (Caruana et al. "
                                "2004), member votes chosen greedily on the validation split, scored on --split."),
) -> None:
    """Accuracy, top-5, per-class accuracy and a confusion matrix of a trained classifier."""
    if compare:
        from zoo.evaluation import compare_paths

        if ensemble:
            from zoo.errors import InvalidArgumentError

            raise InvalidArgumentError("--compare evaluates each model alone; --ensemble combines them. Pass one.")
        reports = compare_paths(paths, dataset=dataset, split=split, data_dir=str(data_dir) if data_dir else None,
                                limit=limit, batch_size=batch_size, out=out, tta=tta)
        if json_output:
            typer.echo(json.dumps([{k: v for k, v in r.items() if k != "confusion_matrix"} for r in reports]))
        else:
            _print_comparison(reports)
        return
    if len(paths) > 1 or ensemble:
        from zoo.cli.ensemble import run_ensemble_eval

        run_ensemble_eval(paths, ensemble=ensemble, dataset=dataset, split=split,
                          data_dir=str(data_dir) if data_dir else None, limit=limit, batch_size=batch_size,
                          out=out, json_output=json_output, tta=tta, select=select)
        return
    from zoo.evaluation import evaluate_path

    report = evaluate_path(paths[0], dataset=dataset, split=split, data_dir=str(data_dir) if data_dir else None,
                           limit=limit, batch_size=batch_size, out=out, input_scale=input_scale, tta=tta)
    if json_output:
        typer.echo(json.dumps({k: v for k, v in report.items() if k != "confusion_matrix"}))
        return
    _print_eval(report)


def _print_comparison(reports: list[dict]) -> None:
    from rich.table import Table

    first = reports[0]
    tta = first.get("tta", "none")
    table = Table(title=escape(f"{first['dataset']} {first['split']} ({first['samples']:,} images)"
                               + ("" if tta == "none" else f", TTA {tta}")))
    columns = [("model", "left"), ("accuracy", "right")] + ([("single view", "right")] if tta != "none" else []) + [
        ("top-5", "right"), ("params", "right")]
    for col, justify in columns:
        table.add_column(col, justify=justify, no_wrap=True)
    for r in reports:
        single = [f"{r['single_view_accuracy']:.2%}"] if tta != "none" else []
        table.add_row(escape(r["model_path"]), f"{r['accuracy']:.2%}", *single,
                      "-" if r.get("top5") is None else f"{r['top5']:.2%}", f"{r['params']:,}")
    print_table(table, drop=("params", "top-5"))
    if first.get("out"):
        console.print(f"Wrote {first['out']}/{COMPARE_FILE}", highlight=False, markup=False)


def _print_eval(report: dict) -> None:
    from rich.table import Table

    if report.get("note"):
        console.print(f"[dim]{escape(report['note'])}[/]", highlight=False)
    console.print(f"[bold]{escape(report['model_path'])}[/] on {escape(report['dataset'])} {report['split']} "
                  f"({report['samples']} images)", highlight=False, soft_wrap=True)
    table = Table()
    table.add_column("class")
    table.add_column("accuracy", justify="right")
    for name, acc in report["per_class"].items():
        table.add_row(escape(str(name)), "-" if acc is None else f"{acc:.2%}")
    table.add_section()
    tta = report.get("tta", "none")
    table.add_row("[bold]all" + ("" if tta == "none" else f" (TTA {tta})"), f"[bold]{report['accuracy']:.2%}")
    if tta != "none":
        table.add_row("single view", f"{report['single_view_accuracy']:.2%}")
    if report.get("top5") is not None:
        table.add_row("[bold]top-5", f"[bold]{report['top5']:.2%}")
    console.print(table)
    if report.get("out"):
        console.print(f"Wrote {report['out']}/{METRICS_FILE} and {CONFUSION_FILE}", highlight=False, markup=False)

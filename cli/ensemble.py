"""`zoo ensemble` (max-voting / probability averaging, saved as one model), `zoo features`, and the
multi-model part of `zoo eval` (``run_ensemble_eval``)."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from rich.markup import escape

from zoo.cli.common import console, console_progress, friendly_errors, parse_input_shape, print_table
from zoo.rundir import ENSEMBLE_FIGURE, ENSEMBLE_OUTPUTS, REPORT_FILE
from zoo.tta import TTA_HELP


def register(app: typer.Typer) -> None:
    app.command("ensemble", no_args_is_help=True)(ensemble)


@friendly_errors
def ensemble(
    runs: List[str] = typer.Argument(..., metavar="RUN_OR_MODEL...", help="Two or more run directories or .keras files."),
    out: Path = typer.Option(..., "--out", "-o",
                             help="Where to save the ensemble: a .keras file, or a directory ("
                                  + ", ".join(ENSEMBLE_OUTPUTS) + ")."),
    method: str = typer.Option("vote", "--method", "--ensemble", "-m",
                               help="vote: hard max-voting (ties broken by summed probabilities); soft: average probabilities."),
    input_shape: Optional[str] = typer.Option(None, "--input-shape",
                                              help="H,W,C of the ensemble's input (default: the first member's)."),
    evaluate: bool = typer.Option(True, "--eval/--no-eval", help="Evaluate the members and the ensemble on --dataset."),
    dataset: Optional[str] = typer.Option(None, "--dataset", "-d", help="Evaluation data (default: the first run's dataset)."),
    split: str = typer.Option("test", "--split", help="Evaluation split."),
    data_dir: Optional[str] = typer.Option(None, "--data-dir", help="Where the dataset files are."),
    limit: Optional[int] = typer.Option(None, "--limit", help="Evaluate on at most this many examples."),
    batch_size: int = typer.Option(256, "--batch-size", help="Evaluation batch size."),
    json_output: bool = typer.Option(False, "--json", help="Print the report as JSON."),
    select: bool = typer.Option(False, "--select", help="Ensemble selection (Caruana et al. 2004): choose how many "
                                "votes each member gets, greedily on the validation split; the saved model votes so."),
    tta: str = typer.Option("none", "--tta", help=TTA_HELP),
) -> None:
    """Combine trained models into ONE .keras model that votes; report members vs vote vs independence."""
    from zoo.ensemble_task import save_ensemble

    saved = save_ensemble(runs, out, method=method, input_shape=parse_input_shape(input_shape), evaluate=evaluate,
                          dataset=dataset, split=split, data_dir=data_dir, limit=limit, batch_size=batch_size,
                          progress=None if json_output else console_progress, select=select, tta=tta)
    if saved["report"] is not None:
        _show(saved["report"], Path(out) if Path(out).suffix != ".keras" else None, json_output)
    if not json_output:  # said once everything is in place
        console.print(f"Saved the {saved['method']} ensemble of {len(saved['members'])} members to "
                      f"[bold]{escape(str(saved['model']))}[/]")
    elif not evaluate:
        import json

        typer.echo(json.dumps({"model": str(saved["model"]), "method": saved["method"], "members": saved["members"]}))


def run_ensemble_eval(paths, *, ensemble, dataset, split, data_dir, limit, batch_size, out, json_output,
                      tta="none", select=False) -> dict:
    """`zoo eval A B ...`: evaluate several models (or one saved ensemble) as an ensemble and print it.

    ``json_output`` True prints JSON instead of tables (a path writes the JSON there).
    """
    from zoo.ensemble_task import evaluate_ensemble

    report = evaluate_ensemble(paths, ensemble=ensemble, dataset=dataset, split=split, data_dir=data_dir,
                               limit=limit, batch_size=batch_size, out=out, tta=tta, select=select,
                               progress=None if json_output else console_progress)
    _show(report, out, json_output)
    return report


def _show(report: dict, out, json_output) -> None:
    if isinstance(json_output, (str, Path)) and not isinstance(json_output, bool):
        from zoo.io import write_json

        write_json(json_output, report)
    elif json_output:
        import json

        from zoo.io import _jsonable

        typer.echo(json.dumps(report, default=_jsonable))
        return
    _print_report(report, out)


def _print_report(report: dict, out) -> None:
    from rich.table import Table

    tta = report.get("tta", "none")
    t = Table(title=f"Ensemble ({report['method']}) on {report['dataset']} {report['split']}, "
                    f"{report['num_examples']} examples" + ("" if tta == "none" else f", TTA {tta}"))
    t.add_column("model")
    t.add_column("accuracy", justify="right")
    t.add_column("error", justify="right")
    for m in report["members"]:
        t.add_row(m["name"], f"{m['accuracy']:.4f}", f"{m['error']:.4f}")
    t.add_row("[bold]soft average[/]", f"{report['soft_accuracy']:.4f}", f"{1 - report['soft_accuracy']:.4f}")
    t.add_row("[bold]max-vote[/]", f"{report['vote_accuracy']:.4f}", f"{report['vote_error_measured']:.4f}")
    t.add_row("[dim]vote if errors were independent[/]", f"{1 - report['vote_error_if_independent']:.4f}",
              f"{report['vote_error_if_independent']:.4f}")
    sel = report.get("selection")
    if sel:
        votes = ", ".join(f"{n} x{w}" for n, w in sel["weights"].items() if w)
        t.add_row(f"[bold]selected {report['method']}[/] ({votes}; chosen on {sel['val_images']} val images)",
                  f"{sel['accuracy']:.4f}", f"{1 - sel['accuracy']:.4f}")
    print_table(t, drop=("error",))
    p = Table(title="Pairs: disagreement and error correlation")
    for col in ("pair", "disagreement", "error correlation", "both wrong"):
        p.add_column(col, justify="right" if col != "pair" else "left")
    names = [m["name"] for m in report["members"]]
    for pair in report["pairs"]:
        i, j = pair["members"]
        p.add_row(f"{names[i]} / {names[j]}", f"{pair['disagreement']:.4f}", f"{pair['error_correlation']:.3f}",
                  f"{pair['both_wrong']:.4f}")
    print_table(p, drop=("both wrong", "disagreement"))
    gain = report["gain_over_best_member"]
    console.print(
        f"{report['method']} accuracy {report['accuracy']:.4f} vs best member "
        f"{report['best_member']['name']} {report['best_member']['accuracy']:.4f} ({gain:+.4f}). "
        f"Measured vote error {report['vote_error_measured']:.4f}; independent errors would give "
        f"{report['vote_error_if_independent']:.4f}"
        + (" (the members' errors are correlated)." if report["vote_error_measured"] > report["vote_error_if_independent"]
           else ".")
    )
    for what, part in (("It", report), ("The selected vote", sel or {})):
        if "vs_best_member" in part:
            console.print(_paired_line(what, part["vs_best_member"], report["best_member"]["name"]))
    if out is not None:
        console.print(f"Report: [bold]{escape(str(Path(out) / REPORT_FILE))}[/], figure: [bold]{escape(str(Path(out) / ENSEMBLE_FIGURE))}[/]")


def _paired_line(what: str, paired: dict, best: str) -> str:
    """McNemar's reading of a gain: only the images where the two differ count."""
    noise = "within the test set's noise" if abs(paired["z"]) < 2 else "more than the test set's noise"
    return (f"{what} fixes {paired['fixed']} of {escape(best)}'s errors and breaks {paired['broken']} of its right answers: "
            f"net {paired['net']:+d} images, z = {paired['z']:+.2f} ({noise}; |z| >= 2 is needed to claim a difference).")

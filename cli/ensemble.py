"""`zoo ensemble` (max-voting / probability averaging, saved as one model), `zoo features`, and the
multi-model part of `zoo eval` (``run_ensemble_eval``)."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from rich.markup import escape

from zoo.cli.common import console, friendly_errors, parse_input_shape


def register(app: typer.Typer) -> None:
    app.command("ensemble", no_args_is_help=True)(ensemble)
    app.command("features", no_args_is_help=True)(features)


@friendly_errors
def ensemble(
    runs: List[str] = typer.Argument(..., metavar="RUN_OR_MODEL...", help="Two or more run directories or .keras files."),
    out: Path = typer.Option(..., "--out", "-o",
                             help="Where to save the ensemble: a .keras file, or a directory (model.keras, "
                                  "config.json, report.json, ensemble.png)."),
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
) -> None:
    """Combine trained models into ONE .keras model that votes; report members vs vote vs independence."""
    from zoo.ensemble import check_method

    check_method(method)
    shape = parse_input_shape(input_shape)
    from zoo.ensemble import load_ensemble

    model, names, class_names, method = load_ensemble(runs, method, input_shape=shape)
    out = Path(out)
    from zoo.run import RunLock

    existed = out.exists()
    with RunLock(out, "zoo ensemble"):  # one writer per output, as for zoo train
        try:
            _save_and_evaluate(model, names, class_names, method, runs, out, evaluate=evaluate, dataset=dataset,
                               split=split, data_dir=data_dir, limit=limit, batch_size=batch_size,
                               json_output=json_output)
        except BaseException:
            if not existed:  # a failed evaluation leaves no half ensemble behind
                import shutil

                shutil.rmtree(out, ignore_errors=True) if out.is_dir() else out.unlink(missing_ok=True)
            raise


def _save_and_evaluate(model, names, class_names, method, runs, out, *, evaluate, dataset, split, data_dir, limit,
                       batch_size, json_output):
    from zoo.io import atomic_path, write_json

    as_dir = out.suffix != ".keras"
    model_path = out / "model.keras" if as_dir else out
    with atomic_path(model_path) as tmp:
        model.save(tmp)
    if as_dir:
        write_json(out / "config.json", {
            "model": "ensemble", "method": method, "members": [str(r) for r in runs], "member_names": names,
            "input_shape": list(model.inputs[0].shape[1:]), "class_names": class_names,
            "dataset": _first_run(runs).data_options(dataset)[0],
        })
    if evaluate:
        run_ensemble_eval(runs, ensemble=method, dataset=dataset, split=split, data_dir=data_dir, limit=limit,
                          batch_size=batch_size, out=out if as_dir else None, json_output=json_output,
                          _loaded=(model, names, class_names, method))
    if not json_output:  # said once everything is in place
        console.print(f"Saved the {method} ensemble of {len(names)} members to [bold]{escape(str(model_path))}[/]")
    elif not evaluate:
        import json

        typer.echo(json.dumps({"model": str(model_path), "method": method, "members": names}))


def _first_run(paths):
    """The first member whose run names its dataset (else the first member): its data is the ensemble's."""
    from zoo.run import Run

    runs = [Run.open(p) for p in paths]
    return next((r for r in runs if r.dataset), runs[0])


def run_ensemble_eval(paths, *, ensemble, dataset, split, data_dir, limit, batch_size, out, json_output,
                      _loaded=None) -> dict:
    """Evaluate several models (or one saved ensemble) as an ensemble; print and optionally save the report.

    ``ensemble`` is "vote", "soft" or None (vote, or the saved ensemble's own method); ``out`` a
    directory for report.json and ensemble.png (None: write nothing); ``json_output`` True prints
    JSON instead of tables (a path writes the JSON there).
    """
    from zoo.data import make_pipeline
    from zoo.ensemble import ensemble_logits, ensemble_report, load_ensemble, predict_members
    from zoo import checks
    from zoo.evaluation import classification_metrics
    from zoo.io import write_json
    checks.positive_int(batch_size, "batch_size")
    model, names, class_names, method = _loaded or load_ensemble(paths, ensemble)
    # the data of the first member that is a run (its val split and seed: --split val is what it held out)
    run = _first_run(paths)
    spec = run.data_options(dataset)[0]
    data = run.data(dataset, data_dir=data_dir, limit=limit, num_classes=len(class_names))
    input_shape = tuple(int(v) for v in model.inputs[0].shape[1:])
    ds = make_pipeline(data.split(split), input_shape=input_shape, batch_size=int(batch_size), training=False)
    with console.status(f"Evaluating {len(names)} members on {spec} {split}...") if not json_output else _null():
        member_logits, labels = predict_members(model, ds)
    report = ensemble_report(labels, member_logits, names, method, class_names)
    report.update({"dataset": spec, "split": split, "members_paths": [str(p) for p in paths]})
    metrics = classification_metrics(labels, ensemble_logits(member_logits, method), class_names)
    report["metrics"] = metrics
    if out is not None:
        out = Path(out)
        write_json(out / "report.json", report)
        from zoo.plots.ensemble import plot_ensemble_report

        plot_ensemble_report(report, out / "ensemble.png")
    if isinstance(json_output, (str, Path)) and not isinstance(json_output, bool):
        write_json(json_output, report)
    elif json_output:
        import json

        from zoo.io import _jsonable

        typer.echo(json.dumps(report, default=_jsonable))
        return report
    _print_report(report, out)
    return report


class _null:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def _print_report(report: dict, out) -> None:
    from rich.table import Table

    t = Table(title=f"Ensemble ({report['method']}) on {report['dataset']} {report['split']}, "
                    f"{report['num_examples']} examples")
    t.add_column("model")
    t.add_column("accuracy", justify="right")
    t.add_column("error", justify="right")
    for m in report["members"]:
        t.add_row(m["name"], f"{m['accuracy']:.4f}", f"{m['error']:.4f}")
    t.add_row("[bold]soft average[/]", f"{report['soft_accuracy']:.4f}", f"{1 - report['soft_accuracy']:.4f}")
    t.add_row("[bold]max-vote[/]", f"{report['vote_accuracy']:.4f}", f"{report['vote_error_measured']:.4f}")
    t.add_row("[dim]vote if errors were independent[/]", f"{1 - report['vote_error_if_independent']:.4f}",
              f"{report['vote_error_if_independent']:.4f}")
    console.print(t)
    p = Table(title="Pairs: disagreement and error correlation")
    for col in ("pair", "disagreement", "error correlation", "both wrong"):
        p.add_column(col, justify="right" if col != "pair" else "left")
    names = [m["name"] for m in report["members"]]
    for pair in report["pairs"]:
        i, j = pair["members"]
        p.add_row(f"{names[i]} / {names[j]}", f"{pair['disagreement']:.4f}", f"{pair['error_correlation']:.3f}",
                  f"{pair['both_wrong']:.4f}")
    console.print(p)
    gain = report["gain_over_best_member"]
    console.print(
        f"{report['method']} accuracy {report['accuracy']:.4f} vs best member "
        f"{report['best_member']['name']} {report['best_member']['accuracy']:.4f} ({gain:+.4f}). "
        f"Measured vote error {report['vote_error_measured']:.4f}; independent errors would give "
        f"{report['vote_error_if_independent']:.4f}"
        + (" (the members' errors are correlated)." if report["vote_error_measured"] > report["vote_error_if_independent"]
           else ".")
    )
    if out is not None:
        console.print(f"Report: [bold]{escape(str(Path(out) / 'report.json'))}[/], figure: [bold]{escape(str(Path(out) / 'ensemble.png'))}[/]")


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
    from zoo import checks

    checks.positive_int(batch_size, "batch_size")
    from zoo.data import make_pipeline
    from zoo.features import export_features
    from zoo.run import Run

    source = Run.open(run)
    model = source.load_model()
    spec = source.data_options(dataset)[0]
    data = source.data(dataset, data_dir=data_dir, limit=limit)
    input_shape = tuple(int(v) for v in model.inputs[0].shape[1:])
    ds = make_pipeline(data.split(split), input_shape=input_shape, batch_size=batch_size, training=False)
    with console.status(f"Extracting features of {spec} {split}..."):
        summary = export_features(out, model, ds, class_names=data.class_names, layer=layer)
    console.print(f"Wrote {summary['num_examples']} x {summary['dim']} features with labels to [bold]{escape(str(out))}[/]")

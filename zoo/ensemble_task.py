"""`zoo ensemble` and the multi-model `zoo eval` as library tasks: no printing, results returned.

``save_ensemble`` combines trained models into one saved model that votes (and evaluates it);
``evaluate_ensemble`` measures members, vote, soft average and the independence baseline on the
data of the first member that is a run. ``status`` wraps each long phase (the CLI passes rich's
spinner).
"""

from __future__ import annotations

import contextlib
from pathlib import Path


def first_run(paths):
    """The first member whose run names its dataset (else the first member): its data is the ensemble's."""
    from zoo.run import Run

    runs = [Run.open(p) for p in paths]
    return next((r for r in runs if r.dataset), runs[0])


def evaluate_ensemble(paths, *, ensemble=None, dataset=None, split="test", data_dir=None, limit=None,
                      batch_size=256, out=None, loaded=None, status=None) -> dict:
    """The ensemble report of several models (or of one saved ensemble).

    ``ensemble`` is "vote", "soft" or None (vote, or the saved ensemble's own method); with ``out``
    (a directory), report.json and ensemble.png are written there. ``loaded`` is
    (model, names, class_names, method) when the caller has already built the ensemble.
    """
    from zoo import checks
    from zoo.data import make_pipeline
    from zoo.ensemble import ensemble_logits, ensemble_report, load_ensemble, predict_members
    from zoo.evaluation import classification_metrics
    from zoo.io import write_json

    status = status or (lambda text: contextlib.nullcontext())
    checks.positive_int(batch_size, "batch_size")
    model, names, class_names, method = loaded or load_ensemble(paths, ensemble)
    # the data of the first member that is a run (its val split and seed: --split val is what it held out)
    run = first_run(paths)
    spec = run.data_options(dataset)[0]
    data = run.data(dataset, data_dir=data_dir, limit=limit, num_classes=len(class_names))
    input_shape = tuple(int(v) for v in model.inputs[0].shape[1:])
    ds = make_pipeline(data.split(split), input_shape=input_shape, batch_size=int(batch_size), training=False)
    with status(f"Evaluating {len(names)} members on {spec} {split}..."):
        member_logits, labels = predict_members(model, ds)
    report = ensemble_report(labels, member_logits, names, method, class_names)
    report.update({"dataset": spec, "split": split, "members_paths": [str(p) for p in paths]})
    report["metrics"] = classification_metrics(labels, ensemble_logits(member_logits, method), class_names)
    if out is not None:
        out = Path(out)
        write_json(out / "report.json", report)
        from zoo.plots.ensemble import plot_ensemble_report

        plot_ensemble_report(report, out / "ensemble.png")
    return report


def save_ensemble(paths, out, *, method="vote", input_shape=None, evaluate=True, dataset=None, split="test",
                  data_dir=None, limit=None, batch_size=256, status=None) -> dict:
    """Save the ensemble of ``paths`` at ``out`` (a .keras file, or a directory with model.keras,
    config.json and, when evaluated, report.json and ensemble.png).

    Returns {"model": path, "method", "members", "report" (None without ``evaluate``)}. One writer
    per output (a lock, as for `zoo train`); a failure leaves nothing of a new ``out`` behind.
    """
    from zoo.ensemble import check_method, load_ensemble
    from zoo.io import atomic_path, write_json
    from zoo.run import RunLock

    check_method(method)
    model, names, class_names, method = load_ensemble(paths, method, input_shape=input_shape)
    out = Path(out)
    as_dir = out.suffix != ".keras"
    model_path = out / "model.keras" if as_dir else out
    existed = out.exists()
    with RunLock(out, "zoo ensemble"):
        try:
            with atomic_path(model_path) as tmp:
                model.save(tmp)
            if as_dir:
                write_json(out / "config.json", {
                    "model": "ensemble", "method": method, "members": [str(r) for r in paths], "member_names": names,
                    "input_shape": list(model.inputs[0].shape[1:]), "class_names": class_names,
                    "dataset": first_run(paths).data_options(dataset)[0],
                })
            report = None
            if evaluate:
                report = evaluate_ensemble(paths, ensemble=method, dataset=dataset, split=split, data_dir=data_dir,
                                           limit=limit, batch_size=batch_size, out=out if as_dir else None,
                                           loaded=(model, names, class_names, method), status=status)
        except BaseException:
            if not existed:  # a failed evaluation leaves no half ensemble behind
                import shutil

                shutil.rmtree(out, ignore_errors=True) if out.is_dir() else out.unlink(missing_ok=True)
            raise
    return {"model": model_path, "method": method, "members": names, "report": report}

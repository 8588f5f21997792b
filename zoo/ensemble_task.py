"""`zoo ensemble` and the multi-model `zoo eval` as library tasks: no printing, results returned.

``save_ensemble`` combines trained models into one saved model that votes (and evaluates it);
``evaluate_ensemble`` measures members, vote, soft average and the independence baseline on the
data of the first member that is a run. ``progress`` (a ``zoo.progress.Progress``) hears each long
phase (the CLI shows a spinner).
"""

from __future__ import annotations

from pathlib import Path

from zoo.progress import SILENT

# what an ensemble folder holds (zoo.io.output_dir replaces such a folder whole): laid out like a run
from zoo.rundir import ENSEMBLE_FIGURE, ENSEMBLE_OUTPUTS, EVAL_ENSEMBLE_OUTPUTS, MODEL_FILE, REPORT_FILE, RunDir


def first_run(paths):
    """The first member whose run names its dataset (else the first member): its data is the ensemble's."""
    from zoo.run import Run

    runs = [Run.open(p) for p in paths]
    return next((r for r in runs if r.dataset), runs[0])


def check_same_holdout(paths, dataset=None) -> None:
    """Refuse ensemble selection over members that held out different validation images.

    Selection scores every member on the first member's validation split; a member whose run
    carved another split (another --split-seed, else --seed, or --val-split) trained on some of those
    images, and would be chosen for remembering them. Bare .keras files say nothing and pass.
    """
    from zoo.errors import InvalidArgumentError
    from zoo.run import Run

    carves = {}
    for p in paths:
        run = Run.open(p)
        if not run.config:
            continue
        spec, options = run.data_options(dataset)
        carves[str(p)] = (spec, options.get("val_fraction", 0.1), options.get("seed", 0))  # load_dataset's defaults
    if len(set(carves.values())) > 1:
        shown = "; ".join(f"{p}: {spec} val {frac} split seed {seed}" for p, (spec, frac, seed) in carves.items())
        raise InvalidArgumentError(
            f"--select needs members that held out the same validation images, and these did not ({shown}). "
            "Train the members with the same --val-split and --split-seed (e.g. --seed 1 --split-seed 0).",
            param="select")


def evaluate_ensemble(paths, *, ensemble=None, dataset=None, split="test", data_dir=None, limit=None,
                      batch_size=256, out=None, loaded=None, progress=None, tta="none", select=False) -> dict:
    """The ensemble report of several models (or of one saved ensemble).

    ``select``: ensemble selection (``zoo.ensemble.select_members``) on the validation split the
    members held out; the report's ``selection`` has the chosen votes per member, their validation
    accuracy and the selected vote's accuracy on ``split`` (never chosen on it).

    ``ensemble`` is "vote", "soft" or None (vote, or the saved ensemble's own method); with ``out``
    (a directory), report.json and ensemble.png are written there, published whole. ``loaded`` is
    (model, names, class_names, method) when the caller has already built the ensemble.
    """
    from zoo import checks
    from zoo.data import make_pipeline
    from zoo.ensemble import ensemble_logits, ensemble_report, load_ensemble, predict_members
    from zoo.evaluation import classification_metrics
    from zoo.io import check_output_dir, output_dir

    from zoo.tta import check_tta

    progress = progress or SILENT
    tta = check_tta(tta)  # each member's logits averaged over the views, then combined
    checks.positive_int(batch_size, "batch_size")
    check_output_dir(out, owns=EVAL_ENSEMBLE_OUTPUTS, command="zoo eval")
    model, names, class_names, method = loaded or load_ensemble(paths, ensemble)
    # the data of the first member that is a run (its val split and seed: --split val is what it held out)
    run = first_run(paths)
    spec = run.data_options(dataset)[0]
    data = run.data(dataset, data_dir=data_dir, limit=limit, num_classes=len(class_names))
    input_shape = tuple(int(v) for v in model.inputs[0].shape[1:])
    ds = make_pipeline(data.split(split), input_shape=input_shape, batch_size=int(batch_size), training=False)
    with progress.phase(f"Evaluating {len(names)} members on {spec} {split}..."):
        member_logits, labels = predict_members(model, ds, tta=tta)
    report = ensemble_report(labels, member_logits, names, method, class_names)
    report.update({"dataset": spec, "split": split, "members_paths": [str(p) for p in paths], "tta": tta})
    report["metrics"] = classification_metrics(labels, ensemble_logits(member_logits, method), class_names)
    if select:  # member votes chosen on the validation split the members held out, then scored on `split`
        from zoo.errors import InvalidArgumentError

        if data.val is None:
            raise InvalidArgumentError("select=True chooses members on the validation split, and this data has none; "
                                       "evaluate on a run's own dataset (its val split) or drop select.",
                                       param="select")
        check_same_holdout(paths, dataset)
        val = make_pipeline(data.split("val"), input_shape=input_shape, batch_size=int(batch_size), training=False)
        with progress.phase(f"Choosing members on {data.sizes.get('val', '?')} validation images..."):
            val_logits, val_labels = predict_members(model, val, tta=tta)
        best = names.index(report["best_member"]["name"])
        report["selection"] = _selection(names, method, val_logits, val_labels, member_logits, labels, best)
    if out is not None:
        with output_dir(out, "zoo eval", EVAL_ENSEMBLE_OUTPUTS) as stage:
            write_report(report, stage)
    return report


def _selection(names, method, val_logits, val_labels, member_logits, labels, best: int) -> dict:
    """Ensemble selection on the validation logits, scored on the evaluation split's and compared with
    member ``best`` (the report's best member) image by image."""
    from zoo.ensemble import ensemble_logits, paired_comparison, select_members

    counts = select_members(val_logits, val_labels, method)
    chosen = ensemble_logits(member_logits, method, counts)
    return {"on": "val", "val_images": int(len(val_labels)), "weights": dict(zip(names, counts.tolist())),
            "val_accuracy": float((ensemble_logits(val_logits, method, counts).argmax(1) == val_labels).mean()),
            "accuracy": float((chosen.argmax(1) == labels).mean()),
            "vs_best_member": paired_comparison(chosen.argmax(1), member_logits[best].argmax(-1), labels),
            "members_val_accuracy": dict(zip(names, (val_logits.argmax(-1) == val_labels[None]).mean(1).tolist()))}


def write_report(report: dict, folder: Path) -> None:
    """report.json and its figure ensemble.png in ``folder``."""
    from zoo.io import write_json
    from zoo.plots.ensemble import plot_ensemble_report

    write_json(Path(folder) / REPORT_FILE, report)
    plot_ensemble_report(report, Path(folder) / ENSEMBLE_FIGURE)


def save_ensemble(paths, out, *, method="vote", input_shape=None, evaluate=True, dataset=None, split="test",
                  data_dir=None, limit=None, batch_size=256, progress=None, select=False, tta="none") -> dict:
    """Save the ensemble of ``paths`` at ``out`` (a .keras file, or a directory with model.keras,
    config.json and, when evaluated, report.json and ensemble.png).

    Returns {"model": path, "method", "members", "report" (None without ``evaluate``)}. One writer
    per output (a lock, as for `zoo train`); a failure leaves nothing of a new ``out`` behind.
    """
    from zoo.ensemble import check_method, load_ensemble
    from zoo.io import atomic_path, check_output_dir, output_dir
    from zoo.rundir import RunLock

    check_method(method)
    out = Path(out)
    as_dir = out.suffix != ".keras"
    if as_dir:
        check_output_dir(out, owns=ENSEMBLE_OUTPUTS, command="zoo ensemble")  # before the members load
    model, names, class_names, method = load_ensemble(paths, method, input_shape=input_shape)
    model_path = out / MODEL_FILE if as_dir else out
    with RunLock(out, "zoo ensemble"):
        report = None
        if evaluate or select:
            report = evaluate_ensemble(paths, ensemble=method, dataset=dataset, split=split, data_dir=data_dir,
                                       limit=limit, batch_size=batch_size, loaded=(model, names, class_names, method),
                                       progress=progress, select=select, tta=tta)
        if select:  # the saved model votes with the chosen counts; members given no vote are left out
            from zoo.ensemble import build_ensemble_model, ensemble_members

            weights = report["selection"]["weights"]
            kept = [(m, n, weights[n]) for m, n in zip(ensemble_members(model), names) if weights[n]]
            model = build_ensemble_model([m for m, _, _ in kept], method, input_shape=input_shape,
                                         names=[n for _, n, _ in kept], weights=[w for _, _, w in kept])
        if not as_dir:
            with atomic_path(model_path) as tmp:
                model.save(tmp)
        else:
            with output_dir(out, "zoo ensemble", ENSEMBLE_OUTPUTS) as stage:  # published whole, or not at all
                RunDir(stage).write_model(model)
                RunDir(stage).write_config({
                    "model": "ensemble", "method": method, "members": [str(r) for r in paths], "member_names": names,
                    "input_shape": list(model.inputs[0].shape[1:]), "class_names": class_names,
                    "dataset": first_run(paths).data_options(dataset)[0],
                })
                if report is not None:
                    write_report(report, stage)
    return {"model": model_path, "method": method, "members": names, "report": report}

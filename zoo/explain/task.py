"""`zoo explain` as a library task: load, pick images and targets, compute, save, draw (``run_explain``,
``run_filters``). Like zoo/attack/task.py: one call from the CLI, a result back, nothing printed."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from zoo.errors import DataError
from zoo.io import atomic_path, write_json
from zoo.progress import SILENT
from zoo.run import Run
# what an explain folder holds (zoo.io.output_dir replaces such a folder whole); filters_*.png: --filters
from zoo.rundir import (EXPLAIN_ATTRIBUTIONS, EXPLAIN_FIGURE, EXPLAIN_FILE, EXPLAIN_FILTERS, EXPLAIN_MAPS,
                        EXPLAIN_OUTPUTS, EXPLAIN_SANITY)

MAX_FIGURE_IMAGES = 32  # rows of the side-by-side figure; more would not be readable


def registry_last_conv(run) -> str | None:
    """The registry's Grad-CAM layer for the run's model (None for a plain .keras file, or a model no
    longer in the registry: Grad-CAM then falls back to the last 4-D layer). ``run``: a ``Run`` or a path."""
    spec = Run.open(run).spec
    return spec.last_conv if spec else None


def load_inputs(run, model, *, files, dataset, split, n, data_dir, seed):
    """(images (N,H,W,C) in [0,255], labels or None, source names, dataset class names or None).

    ``run``: the ``Run`` the model came from (or its path), whose data the images are taken from.
    """
    input_shape = tuple(int(v) for v in model.inputs[0].shape[1:])
    if files:
        from zoo.explain.images import load_image_files

        return load_image_files(files, input_shape), None, [Path(f).name for f in files], None
    from zoo.data import load_examples

    run = Run.open(run)
    spec = run.data_options(dataset)[0]
    data = run.data(dataset, data_dir=data_dir, limit=n, num_classes=int(model.outputs[0].shape[-1]), seed=seed)
    images, labels, class_names = load_examples(data, split=split, n=n, input_shape=input_shape)
    images = np.asarray(images, dtype="float32")
    if len(images) == 0:
        raise DataError(f"The {split} split of {spec} has no images to explain.")
    names = [f"{spec}/{split}#{i}" for i in range(len(images))]
    return images, np.asarray(labels, dtype="int64"), names, list(class_names) if class_names else None


@dataclass
class ExplainResult:
    """What `zoo explain` made: the summary written to explain.json, the figures, and per method the
    lines its ``report`` hook adds (Integrated Gradients' completeness, Grad-CAM's layer)."""

    summary: dict
    out_dir: Path
    figures: list = field(default_factory=list)  # paths of the PNGs, in the published folder
    notes: dict = field(default_factory=dict)  # method -> lines for a printed summary


def run_explain(model_path, out_dir, *, files=(), dataset=None, split="test", n=16, data_dir=None,
                methods=("gradient",), target="predicted", batch_size=64, seed=0, sanity=False, progress=None,
                input_scale: str = "auto", **settings) -> ExplainResult:
    """Compute, save and draw the maps; returns an ``ExplainResult`` (``.summary`` is explain.json).

    ``settings`` are the methods' own (``samples``, ``noise``, ``steps``, ``layer`` ... for every
    method that has one, or ``**{"integrated-gradients.steps": 20}`` for one), defaults from their
    records. ``progress`` (a ``zoo.progress.Progress``) hears what is being done; nothing is printed here.
    """
    from zoo.explain.explainer import TITLES, Explainer, resolve_targets
    from zoo.explain.registry import EXPLAIN_METHODS
    from zoo.plots.explain import image_caption, plot_method_grid, plot_methods_side_by_side

    from zoo.io import check_output_dir

    from zoo.inputs import check_input_scale

    check_output_dir(out_dir, owns=EXPLAIN_OUTPUTS, command="zoo explain")  # before any computing
    check_input_scale(input_scale)
    progress = progress or SILENT
    from zoo.backend import name as backend_name

    if backend_name() == "tensorflow":
        import tensorflow as tf

        # each method/model pair is one compiled function traced once; TF's "retracing" notice is noise here
        tf.get_logger().setLevel("ERROR")
    run = Run.open(model_path)  # opened once: the model, its class names, its data and its registry spec
    model, class_names = run.load_classifier()
    images, labels, sources, data_classes = load_inputs(
        run, model, files=files, dataset=dataset, split=split, n=n, data_dir=data_dir, seed=seed
    )
    if data_classes and len(data_classes) == len(class_names) and all(c.isdigit() for c in class_names):
        class_names = data_classes  # a bare .keras file: take readable names from the dataset
    from zoo.inputs import adapt_classifier, image_stats

    model, notes = adapt_classifier(model, input_scale, stats=lambda: image_stats(images), source=str(model_path))
    for note in notes:
        progress.note(note)
    last_conv = registry_last_conv(run)
    explainer = Explainer(model, batch_size=batch_size, registry_last_conv=last_conv, seed=seed, **settings)
    explainer.prepare(methods)  # what each method needs from the model (a bad --layer) fails before any work

    from zoo.ensemble import softmax

    probs = softmax(explainer.engine.logits(images).astype("float64"))
    predicted = probs.argmax(1)
    targets = resolve_targets(target, predicted, labels, class_names)

    out_dir = Path(out_dir)
    from zoo.io import output_dir

    result = ExplainResult({}, out_dir)
    with output_dir(out_dir, "zoo explain", EXPLAIN_OUTPUTS) as stage:  # published whole, or not at all
        captions = [
            image_caption(None if labels is None else class_names[labels[i]], class_names[predicted[i]],
                          probs[i, predicted[i]], class_names[targets[i]])
            for i in range(len(images))
        ]
        if labels is None:
            captions = [f"{sources[i][:18]}\n{c}" for i, c in enumerate(captions)]
        mistakes = None if labels is None else list(predicted != labels)
        shown = slice(0, MAX_FIGURE_IMAGES)  # every map goes to .npy; figures stay readable
        pictures = images  # what the figures draw: image files at their own size and aspect
        if files:
            from zoo.explain.images import display_images

            pictures = display_images(list(files)[shown], images.shape[-1])
        if len(images) > MAX_FIGURE_IMAGES:
            progress.note(f"figures show the first {MAX_FIGURE_IMAGES} of {len(images)} images (all maps are in the .npy files)")

        heatmaps, summary_methods, written = {}, {}, []
        for m in methods:
            progress.note(f"computing {TITLES[m]} for {len(images)} images ...")
            ex = explainer.explain(m, images, targets)
            heatmaps[m] = ex.heatmaps
            _save_npy(stage / EXPLAIN_MAPS.format(m), ex.heatmaps.astype("float32"))
            if ex.attributions is not None:
                _save_npy(stage / EXPLAIN_ATTRIBUTIONS.format(m), ex.attributions.astype("float32"))
            record = EXPLAIN_METHODS.get(m)
            info, lines = record.report(ex.info) if record.report else (dict(ex.info), [])
            summary_methods[m] = info
            result.notes[m] = list(lines)
            title = TITLES[m] + (record.describe(ex.info) if record.describe else "")
            path = stage / EXPLAIN_FIGURE.format(m)
            plot_method_grid(pictures[shown], ex.heatmaps[shown], captions[shown], path, title=title,
                             mistakes=None if mistakes is None else mistakes[shown])
            written.append(path)
        if len(methods) > 1:
            path = stage / EXPLAIN_FIGURE.format("all")
            titles = {m: TITLES[m] for m in methods}
            plot_methods_side_by_side(pictures[shown], {m: h[shown] for m, h in heatmaps.items()}, captions[shown], path,
                                      titles=titles, mistakes=None if mistakes is None else mistakes[shown])
            written.append(path)

        summary = {
            "model": str(model_path),
            "target": target,
            "images": [
                {"source": sources[i], "true": None if labels is None else class_names[labels[i]],
                 "predicted": class_names[predicted[i]], "probability": float(probs[i, predicted[i]]),
                 "explained_class": class_names[targets[i]]}
                for i in range(len(images))
            ],
            "methods": summary_methods,
            "settings": {m: _jsonable(explainer.options[m]) for m in methods},
            "batch_size": batch_size,
            "seed": seed,
        }
        if sanity:
            summary["sanity"] = _run_sanity(model, images, targets, methods, stage, explainer, progress, written)
        write_json(stage / EXPLAIN_FILE, summary)
    result.summary = summary
    result.figures = [out_dir / p.relative_to(stage) for p in written]
    return result


def _jsonable(values: dict) -> dict:
    return {k: v if v is None or isinstance(v, (bool, int, float, str)) else str(v) for k, v in values.items()}


def _run_sanity(model, images, targets, methods, out_dir, explainer, progress, written) -> dict:
    from zoo.explain.explainer import TITLES
    from zoo.explain.sanity import cascading_randomisation
    from zoo.plots.explain import plot_sanity

    progress.note("sanity check: re-initialising layers from the top ...")
    results = cascading_randomisation(
        model, images, targets, methods, seed=explainer.seed, registry_last_conv=explainer.registry_last_conv,
        batch_size=explainer.batch_size, **{f"{m}.{k}": v for m, own in explainer.options.items() for k, v in own.items()},
        progress=progress,
    )
    path = out_dir / EXPLAIN_SANITY
    plot_sanity(results, path, titles={m: TITLES[m] for m in methods}, image=images[0])
    written.append(path)
    return {
        m: {"steps": r.steps, "mean_spearman": [float(v) for v in r.mean_correlations],
            "final_spearman": r.final_correlation, "survived_randomisation": r.survived, "threshold": r.threshold}
        for m, r in results.items()
    }


def _save_npy(path, array) -> None:
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.save(fh, array)


def run_filters(model_path, out_dir, *, layer=None) -> Path:
    from zoo.explain.filters import first_conv_kernels
    from zoo.plots.explain import plot_filters

    model = Run.open(model_path).load_model()
    name, kernels = first_conv_kernels(model, layer)
    path = Path(out_dir) / EXPLAIN_FILTERS.format(name)
    plot_filters(name, kernels, path)
    return path

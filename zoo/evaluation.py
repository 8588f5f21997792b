"""Evaluation: logits over a dataset, and the metrics every report shows.

``logits_and_labels`` runs a model over a batched ``tf.data`` pipeline (images, labels) and returns
numpy arrays, ``predict_logits`` does the same for an array of images; ``classification_metrics`` turns labels + logits into accuracy, top-5, per-class
accuracy and the confusion matrix. Both are used by ``zoo train``, ``zoo eval``, ensembles and
attacks, so they take plain arrays and do no printing.
"""

from __future__ import annotations

import weakref

import numpy as np

from zoo import checks
from zoo.errors import InvalidArgumentError
# what an --out folder of `zoo eval` holds (zoo.io.output_dir replaces such a folder whole)
from zoo.rundir import COMPARE_FILE, CONFUSION_FILE, EVAL_OUTPUTS, METRICS_FILE


_PREDICT: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def compiled_predict(model, *, key: str = "logits", build=None, tta: str = "none", keep_single: bool = False):
    """One cached compiled function per model (and ``key``), so repeated calls reuse its traces
    (``zoo.backend.compiled``: ``tf.function``, ``jax.jit`` or eager PyTorch).

    Default: images -> float32 logits of ``model``. A new tf.function per call would retrace the
    model every time (the multi-worker loop evaluates every epoch). ``build(model)`` returns
    another Python function of images to compile and cache under ``key`` (it should not hold
    ``model`` itself, or the cache keeps the model alive; the default holds it weakly). ``tta``
    averages the function's output over test-time views of the images (zoo/tta.py); with
    ``keep_single`` the function returns ``[TTA output, single-view output]`` stacked, from one pass.
    """
    from keras import ops

    from zoo.backend import compiled
    from zoo.tta import averaged, check_tta

    tta = check_tta(tta)
    key = (key if tta == "none" else f"{key}@{tta}") + ("+single" if keep_single else "")
    per_model = _PREDICT.setdefault(model, {})
    fn = per_model.get(key)
    if fn is None:
        if build is None:
            ref = weakref.ref(model)

            def python_fn(images):
                return ops.cast(ref()(images, training=False), "float32")
        else:
            python_fn = build(model)
        fn = per_model[key] = compiled(averaged(python_fn, tta, keep_single=keep_single), model=model,
                                       inference=True)
    return fn


def logits_and_labels(model, ds_batched, *, steps: int | None = None, tta: str = "none"):
    """(logits [N, K] float32, labels [N] int64) for a batched dataset of (images, labels).

    One compiled predict function over the whole dataset (``model.predict_on_batch`` would
    retrace per shape); the labels are read from the same pass so they stay aligned. ``tta``:
    logits averaged over test-time views (``zoo.tta``).
    """
    return _run(compiled_predict(model, tta=tta), model, ds_batched, steps)


def tta_logits_and_labels(model, ds_batched, tta: str):
    """(TTA logits [N, K], single-view logits [N, K], labels [N]) from one pass over the dataset."""
    stacked, labels = _run(compiled_predict(model, tta=tta, keep_single=True), model, ds_batched, None, axis=1)
    return stacked[0], stacked[1], labels


def _run(step, model, ds_batched, steps, axis: int = 0):
    from zoo.backend import name, to_numpy

    native = name() == "tensorflow"  # tf.data batches go in as they are; other backends take NumPy
    outputs, labels = [], []
    for i, (images, y) in enumerate(ds_batched):
        if steps is not None and i >= steps:
            break
        outputs.append(to_numpy(step(images if native else np.asarray(images))))
        labels.append(np.asarray(y).reshape(-1))
    if not outputs:
        k = int(model.outputs[0].shape[-1])
        empty = np.zeros((0, k), np.float32)
        return (np.stack([empty, empty]) if axis else empty), np.zeros((0,), np.int64)
    return np.concatenate(outputs, axis=axis).astype(np.float32), np.concatenate(labels).astype(np.int64)


def predict_logits(model, images, *, batch_size: int = 256, tta: str = "none") -> np.ndarray:
    """Logits [N, K] for an array of images, batch by batch, through the same compiled forward pass
    (averaged over test-time views with ``tta``)."""
    from zoo.backend import to_numpy

    images = np.asarray(images, dtype="float32")
    batch_size = checks.positive_int(batch_size, "batch_size")
    predict = compiled_predict(model, tta=tta)
    out = [to_numpy(predict(images[s:s + batch_size])) for s in range(0, len(images), batch_size)]
    classes = int(model.outputs[0].shape[-1])
    return np.concatenate(out).astype(np.float32) if out else np.zeros((0, classes), np.float32)


def confusion_matrix(labels, predictions, num_classes: int) -> np.ndarray:
    """[K, K] counts, rows = true class, columns = predicted class."""
    labels = np.asarray(labels, np.int64).reshape(-1)
    predictions = np.asarray(predictions, np.int64).reshape(-1)
    return np.bincount(labels * num_classes + predictions, minlength=num_classes * num_classes).reshape(
        num_classes, num_classes
    )


def top_k_accuracy(labels, logits, k: int) -> float:
    """Fraction of samples whose label is among the k largest logits (ties count against)."""
    labels = np.asarray(labels, np.int64).reshape(-1)
    logits = np.asarray(logits)
    if len(labels) == 0:
        return float("nan")
    k = min(k, logits.shape[1])
    true_logit = logits[np.arange(len(labels)), labels]
    # rank = number of classes with a strictly larger logit; in the top k when rank < k
    rank = (logits > true_logit[:, None]).sum(axis=1)
    return float(np.mean(rank < k))


def classification_metrics(labels, logits, class_names=None) -> dict:
    """Accuracy, top-5 (when more than 5 classes), per-class accuracy and the confusion matrix.

    ``labels`` [N] ints, ``logits`` [N, K] (or probabilities: only the ordering matters).
    Per-class accuracy is recall per true class (NaN for a class with no samples becomes None in
    the dict so it stays valid JSON).
    """
    labels = np.asarray(labels, np.int64).reshape(-1)
    logits = np.asarray(logits, np.float64)
    if logits.ndim != 2 or logits.shape[0] != labels.shape[0]:
        raise InvalidArgumentError(
            f"Expected logits of shape (N, classes) matching {labels.shape[0]} labels; "
            f"got {logits.shape}."
        )
    k = logits.shape[1]
    names = list(class_names) if class_names is not None else [str(i) for i in range(k)]
    if len(names) != k:
        raise InvalidArgumentError(f"Got {len(names)} class names for a model with {k} outputs.")
    if labels.size and (labels.min() < 0 or labels.max() >= k):
        raise InvalidArgumentError(
            f"Labels must lie in 0..{k - 1} for a model with {k} outputs; got {labels.min()}..{labels.max()}. "
            "Is this the dataset the model was trained on?"
        )
    predictions = logits.argmax(axis=1) if labels.size else np.zeros((0,), np.int64)
    cm = confusion_matrix(labels, predictions, k)
    support = cm.sum(axis=1)
    per_class = {}
    for i, name in enumerate(names):
        per_class[name] = float(cm[i, i] / support[i]) if support[i] else None
    result = {
        "samples": int(labels.size),
        "accuracy": float(np.mean(predictions == labels)) if labels.size else float("nan"),
        "top5": top_k_accuracy(labels, logits, 5) if k > 5 else None,
        "per_class": per_class,
        "class_names": names,
        "confusion_matrix": cm.tolist(),
    }
    return result


def evaluate_path(path, *, dataset: str | None = None, split: str = "test", data_dir=None, limit=None,
                  batch_size: int = 256, out=None, input_scale: str = "auto", tta: str = "none") -> dict:
    """Evaluate a run directory or any ``.keras`` image classifier on a dataset split.

    ``tta`` ("flip", "flip+shift"; zoo/tta.py) averages the logits over test-time views; the report
    then says ``"tta"`` and keeps the single-view accuracy beside it (``single_view_accuracy``).

    The dataset defaults to the run's (config.json), else Fashion-MNIST; images are resized and
    converted (grey <-> RGB) to the model's input. With ``out``, writes ``metrics.json`` and
    ``confusion.png`` there, published whole (zoo.io.output_dir). Returns the metrics plus what was evaluated.
    """
    from pathlib import Path

    from zoo.data import make_pipeline
    from zoo.run import Run

    from zoo.tta import check_tta

    tta = check_tta(tta)
    batch_size = checks.positive_int(batch_size, "batch_size")
    if limit is not None:
        limit = checks.positive_int(limit, "limit")
    from zoo.io import check_output_dir

    check_output_dir(out, owns=EVAL_OUTPUTS, command="zoo eval")  # before any computing
    from zoo.inputs import check_input_scale

    check_input_scale(input_scale)
    run = Run.open(path)
    model, _ = run.load_classifier()
    data = run.data(dataset, data_dir=data_dir, limit=limit, num_classes=int(model.outputs[0].shape[-1]))
    dataset = run.data_options(dataset)[0]
    class_names = run.class_names(int(model.outputs[0].shape[-1]), data)
    input_shape = tuple(int(d) for d in model.inputs[0].shape[1:])
    from zoo.data import channel_stats
    from zoo.inputs import adapt_classifier

    model, notes = adapt_classifier(model, input_scale, source=str(path),
                                    stats=lambda: channel_stats(data.split(split), input_shape))
    native = data.image_shape
    if native is not None and tuple(native) != input_shape:
        notes.insert(0, f"Converting {dataset} images from {native[0]}x{native[1]}x{native[2]} to the model's "
                        f"{input_shape[0]}x{input_shape[1]}x{input_shape[2]}.")
    note = " ".join(notes) or None
    ds = make_pipeline(data.split(split), input_shape=input_shape, batch_size=batch_size, training=False,
                       augment="none", cache=False)
    logits, single, labels = tta_logits_and_labels(model, ds, tta)
    metrics = classification_metrics(labels, logits, class_names)
    params = int(sum(int(np.prod(w.shape)) for w in model.trainable_weights))
    report = {"model_path": str(path), "dataset": dataset, "split": split, "params": params, "tta": tta, **metrics}
    if tta != "none":  # the single-view figure stays beside the TTA one, never replaced by it
        report["single_view_accuracy"] = float(np.mean(single.argmax(1) == labels)) if len(labels) else float("nan")
    if note:
        report["note"] = note
    if out is not None:
        from zoo.io import output_dir, write_json
        from zoo.plots.training import plot_confusion

        with output_dir(out, "zoo eval", EVAL_OUTPUTS) as stage:  # published whole, or not at all
            write_json(stage / METRICS_FILE, report)
            plot_confusion(metrics["confusion_matrix"], class_names, stage / CONFUSION_FILE,
                           title=f"{Path(path).name}: {split} accuracy {metrics['accuracy']:.2%}"
                                 + ("" if tta == "none" else f" (TTA {tta})"))
        report["out"] = str(out)
    return report


def compare_paths(paths, *, out=None, **kwargs) -> list[dict]:
    """``evaluate_path`` for each model on its own (same data), plus its parameter count.

    With ``out``, writes ``compare.json`` there (atomically). Every path is resolved before any
    evaluation, so a typo in the last one fails at once.
    """
    from pathlib import Path

    from zoo.run import resolve_model_file

    from zoo.io import check_output_dir

    check_output_dir(out, owns=EVAL_OUTPUTS, command="zoo eval")
    for path in paths:
        resolve_model_file(path)
    reports = [evaluate_path(path, **kwargs) for path in paths]
    if out is not None:
        from zoo.io import output_dir, write_json

        with output_dir(out, "zoo eval", EVAL_OUTPUTS) as stage:
            write_json(stage / COMPARE_FILE, [{k: v for k, v in r.items() if k != "confusion_matrix"}
                                                for r in reports])
        for r in reports:
            r["out"] = str(out)
    return reports

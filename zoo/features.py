"""Penultimate-layer features: what transfer learning and the linear SVM build on.

``extract_features`` runs the model's feature extractor (input -> input of the final Dense) over a
batched (images, labels) pipeline in one compiled predict function; ``export_features`` writes
them with the labels to an ``.npz`` file (arrays ``features``, ``labels``, ``class_names``).
"""

from __future__ import annotations

import numpy as np

from zoo.io import atomic_path
from zoo.progress import SILENT


def extract_features(model, ds_batched, *, layer: str | None = None):
    """(features [N, D] float32, labels [N] int64) from a batched dataset of (images, labels)."""
    from zoo.evaluation import logits_and_labels
    from zoo.surgery import feature_model

    feats = feature_model(model, layer)
    features, labels = logits_and_labels(feats, ds_batched)
    return features.reshape(len(features), -1), labels


def export_features(path, model, ds_batched, *, class_names=None, layer: str | None = None) -> dict:
    """Write ``features``, ``labels`` and ``class_names`` to ``path`` (.npz); returns a summary."""
    features, labels = extract_features(model, ds_batched, layer=layer)
    names = np.asarray(list(class_names) if class_names is not None else [], dtype=str)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:  # a file object: np.savez would append ".npz" to the temp name
            np.savez_compressed(fh, features=features, labels=labels, class_names=names)
    return {"path": str(path), "num_examples": int(features.shape[0]), "dim": int(features.shape[1])}


def export_run_features(source, out, *, dataset=None, split="test", data_dir=None, limit=None, batch_size=256,
                        layer: str | None = None, progress=None) -> dict:
    """`zoo features`: the features of ``source`` (a run, .keras file or shipped name) on its data."""
    from zoo import checks
    from zoo.data import make_pipeline
    from zoo.run import Run

    from zoo.io import check_output_file

    checks.positive_int(batch_size, "batch_size")
    check_output_file(out, ".npz", example="features.npz")  # before the model and data load
    progress = progress or SILENT
    run = Run.open(source)
    model = run.load_model()
    spec = run.data_options(dataset)[0]
    data = run.data(dataset, data_dir=data_dir, limit=limit)
    input_shape = tuple(int(v) for v in model.inputs[0].shape[1:])
    ds = make_pipeline(data.split(split), input_shape=input_shape, batch_size=batch_size, training=False)
    with progress.phase(f"Extracting features of {spec} {split}..."):
        return export_features(out, model, ds, class_names=data.class_names, layer=layer)

"""Penultimate-layer features: what transfer learning and the linear SVM build on.

``extract_features`` runs the model's feature extractor (input -> input of the final Dense) over a
batched (images, labels) pipeline in one compiled predict function; ``export_features`` writes
them with the labels to an ``.npz`` file (arrays ``features``, ``labels``, ``class_names``).
"""

from __future__ import annotations

import numpy as np

from zoo.io import atomic_path


def extract_features(model, ds_batched, *, layer: str | None = None):
    """(features [N, D] float32, labels [N] int64) from a batched dataset of (images, labels)."""
    from zoo.evaluation import logits_and_labels
    from zoo.training.transfer import feature_model

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

"""The 2x2 rule of `--transfer auto`: small or large new dataset x similar or different images.

Similarity is a distance between the source's and the target's penultimate-feature statistics.
"""

from __future__ import annotations

import numpy as np

from zoo.surgery import feature_model, model_input_shape

# The 2x2 rule's thresholds. "Small" = fewer labelled examples per class than this: below it a
# network with millions of weights overfits when fine-tuned, and a linear model on features wins.
SMALL_PER_CLASS = 500
# "Similar" = feature-statistics distance below this (see feature_distance). Two samples of the
# same distribution give ~2/n (0.004 with 512 per side); Fashion-MNIST tops -> footwear/bags gives
# ~0.3 (docs/transfer.md), so 0.1 sits well above the noise and below a change of classes.
SIMILAR_DISTANCE = 0.1
AUTO_UNFREEZE_TOP = 2  # large + similar: fine-tune only the top weight layers
DISTANCE_SAMPLES = 512


def feature_distance(source_features, target_features) -> float:
    """How far apart two feature distributions are: ||mean_s - mean_t||^2 / pooled total variance.

    Scale-free (a ratio of squared lengths), 0 for identical distributions (plus ~dim/n sampling
    noise), about 1 when the means are as far apart as a typical sample is from its own mean.
    """
    s = np.asarray(source_features, dtype="float64").reshape(len(source_features), -1)
    t = np.asarray(target_features, dtype="float64").reshape(len(target_features), -1)
    gap = float(((s.mean(0) - t.mean(0)) ** 2).sum())
    spread = float((s.var(0).sum() + t.var(0).sum()) / 2)
    return gap / spread if spread > 0 else (0.0 if gap == 0 else float("inf"))


def choose_mode(examples_per_class: float, distance: float | None) -> tuple[str, int | None, str]:
    """(mode, unfreeze, reason) by the 2x2 rule; ``distance`` None = unknown (treated as different)."""
    small = examples_per_class < SMALL_PER_CLASS
    size = (f"small new dataset ({examples_per_class:.0f} examples/class < {SMALL_PER_CLASS})" if small
            else f"large new dataset ({examples_per_class:.0f} examples/class >= {SMALL_PER_CLASS})")
    if distance is None:
        similar, sim = False, "source data unavailable, so assumed a different distribution"
    else:
        similar = distance < SIMILAR_DISTANCE
        sim = (f"{'similar' if similar else 'different'} distribution (feature distance {distance:.3f} "
               f"{'<' if similar else '>='} {SIMILAR_DISTANCE})")
    if small and similar:
        mode, unfreeze, what = "svm", None, "a linear SVM on the penultimate features"
    elif small:
        mode, unfreeze, what = "feature-extract", None, "a new classifier on earlier (more generic) features"
    elif similar:
        mode, unfreeze, what = "finetune", AUTO_UNFREEZE_TOP, f"fine-tune the top {AUTO_UNFREEZE_TOP} weight layers"
    else:
        mode, unfreeze, what = "finetune", None, "fine-tune the whole network"
    return mode, unfreeze, f"{size} + {sim} -> {what}"


def _train_split(data):
    return getattr(data, "train", data)


def count_examples(data) -> int:
    sizes = getattr(data, "sizes", None) or {}
    if sizes.get("train"):
        return int(sizes["train"])
    import tensorflow as tf

    ds = _train_split(data)
    n = int(ds.cardinality())
    if n >= 0:
        return n
    return int(ds.reduce(tf.constant(0, tf.int64), lambda c, _: c + 1))


def _sample_features(features, ds, n: int) -> np.ndarray:
    """Penultimate features of the first ``n`` examples of an unbatched (image, label) dataset."""
    from zoo.data import convert_images

    shape = model_input_shape(features)
    if ds.element_spec[0].shape.rank == 4:  # already batched
        ds = ds.unbatch()
    # convert each example before batching: an image folder may hold images of different sizes
    batches = ds.take(n).map(lambda x, y: convert_images(x, shape)).batch(128)
    out = [features(b, training=False).numpy() for b in batches]
    return np.concatenate(out).reshape(-1, int(np.prod(out[0].shape[1:]))) if out else np.zeros((0, 1))


def source_sample(info: dict, n: int = DISTANCE_SAMPLES):
    """Unbatched train examples of the source run's dataset (restricted to its ``classes``), or None."""
    import tensorflow as tf

    cfg = info.get("config") or {}
    if not cfg.get("dataset"):
        return None
    try:
        from zoo.run import Run

        ds = Run.open(info["name"]).data().train
    except Exception:  # the source data may live on another machine: the rule then says "unknown"
        return None
    classes = cfg.get("classes")
    if classes:
        keep = tf.constant([int(c) for c in classes], tf.int64)
        ds = ds.filter(lambda x, y: tf.reduce_any(tf.equal(tf.cast(y, tf.int64), keep)))
    return ds.take(n)


def transfer_distance(model, info: dict, data, n: int = DISTANCE_SAMPLES) -> float | None:
    """Feature distance between the source run's data and the new data, or None if unknown."""
    src = source_sample(info, n)
    if src is None:
        return None
    feats = feature_model(model)
    return feature_distance(_sample_features(feats, src, n), _sample_features(feats, _train_split(data), n))



"""Turning arrays or streams into the train/val/test splits of a Dataset (seeded val carving, limit)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from zoo import checks
from zoo.data.dataset import SPLITS, describe_split

if TYPE_CHECKING:  # TensorFlow is imported by the functions that use it: listing sources stays light
    import tensorflow as tf

def check_split_args(val_fraction: float, limit: int | None) -> None:
    checks.fraction(val_fraction, "val_fraction")
    if limit is not None:
        checks.positive_int(limit, "limit", note=" (a number of examples)")


def carve_indices(n: int, val_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Sorted (train, val) indices: a seeded random ``val_fraction`` of ``range(n)`` goes to val."""
    n_val = int(round(n * float(val_fraction)))
    if val_fraction > 0 and n > 1:
        n_val = min(max(n_val, 1), n - 1)  # a requested val split is never empty nor all of train
    perm = np.random.default_rng(seed).permutation(n)
    return np.sort(perm[n_val:]), np.sort(perm[:n_val])


def capped(n: int, limit: int | None) -> int:
    return n if limit is None else min(n, int(limit))


def array_split(images: np.ndarray, labels: np.ndarray):
    """An in-memory split: an unbatched tf.data.Dataset of (uint8 HxWxC, int64) on TensorFlow, an
    ``ArraySplit`` (zoo.data.arrays: NumPy, no TensorFlow needed) on JAX and PyTorch."""
    from zoo.backend import configured

    if configured() != "tensorflow":
        from zoo.data.arrays import ArraySplit

        return ArraySplit(images, labels)
    import tensorflow as tf

    ds = tf.data.Dataset.from_tensor_slices((images, labels.astype(np.int64)))
    return describe_split(ds, in_memory=True, size=len(images), nbytes=images.nbytes,
                          image_shape=tuple(images.shape[1:]), arrays=(images, labels.astype(np.int64)))


def splits_from_arrays(arrays: dict, *, val_fraction: float, seed: int, limit: int | None):
    """{"train": (x, y), "test": (x, y)[, "val": ...]} -> ({split: tf.data}, {split: size})."""
    arrays = dict(arrays)
    if "val" not in arrays and val_fraction > 0 and "train" in arrays:
        x, y = arrays["train"]
        train_idx, val_idx = carve_indices(len(x), val_fraction, seed)
        if len(val_idx):
            arrays["train"] = (x[train_idx], y[train_idx])
            arrays["val"] = (x[val_idx], y[val_idx])
    datasets, sizes = {}, {}
    for name, (x, y) in sorted(arrays.items(), key=lambda kv: SPLITS.index(kv[0])):
        n = capped(len(x), limit)
        datasets[name] = array_split(x[:n], y[:n])
        sizes[name] = n
    return datasets, sizes


def stream_splits(streams: dict, counts: dict, *, val_fraction: float, seed: int, limit: int | None,
                  nbytes_per_example: int | None = None, image_shape=None):
    """Like splits_from_arrays for streamed splits whose lengths are known (TFDS, folders).

    The val carve keeps the same seeded index set as for arrays, applied with a boolean mask.
    """
    import tensorflow as tf

    streams, counts = dict(streams), dict(counts)
    if "val" not in streams and val_fraction > 0 and "train" in streams:
        n = counts["train"]
        train_idx, val_idx = carve_indices(n, val_fraction, seed)
        if len(val_idx):
            is_val = np.zeros(n, dtype=bool)
            is_val[val_idx] = True
            is_val = tf.constant(is_val)
            source = streams["train"].enumerate()

            def pick(want_val: bool) -> tf.data.Dataset:
                keep = lambda i, ex: tf.equal(tf.gather(is_val, i), want_val)
                return source.filter(keep).map(lambda i, ex: ex)

            streams["train"], streams["val"] = pick(False), pick(True)
            counts["train"], counts["val"] = len(train_idx), len(val_idx)
    datasets, sizes = {}, {}
    for name, ds in sorted(streams.items(), key=lambda kv: SPLITS.index(kv[0])):
        n = capped(counts[name], limit)
        if n < counts[name]:
            ds = ds.take(n)
        ds = ds.apply(tf.data.experimental.assert_cardinality(n))
        nbytes = None if nbytes_per_example is None else n * nbytes_per_example
        datasets[name] = describe_split(ds, in_memory=False, size=n, nbytes=nbytes, image_shape=image_shape)
        sizes[name] = n
    return datasets, sizes

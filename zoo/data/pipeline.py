"""tf.data pipelines: batched float32 [0, 255] images at the model's input shape, augmented on batches.

In-memory splits on JAX and PyTorch are ``ArraySplit`` s: each function here hands them to
zoo.data.arrays, which does the same without TensorFlow (imported here only when a tf.data split
needs it).
"""

from __future__ import annotations

import os

import numpy as np

from zoo import checks
from zoo.data import arrays
from zoo.data.augment import build_augmentation, parse_augmentation
from zoo.data.dataset import Dataset, describe_split, split_info
from zoo.errors import InvalidArgumentError

try:
    import tensorflow as tf
except ImportError:  # JAX or PyTorch without TensorFlow: only ArraySplits reach this module
    tf = None
AUTOTUNE = tf.data.AUTOTUNE if tf is not None else None
# Decoded streamed splits up to this size are cached in memory after the first epoch.
CACHE_BUDGET_BYTES = int(os.environ.get("ZOO_CACHE_BYTES", 2 * 1024**3))
# Streamed splits shuffle through a buffer of at most this many bytes (bounded memory).
SHUFFLE_BUDGET_BYTES = 256 * 1024**2


def check_shape(input_shape) -> tuple[int, int, int]:
    try:
        h, w, c = (int(v) for v in input_shape)
    except (TypeError, ValueError):
        raise InvalidArgumentError(f"input_shape must be (height, width, channels); got {input_shape!r}.") from None
    if h < 1 or w < 1 or c not in (1, 3):
        raise InvalidArgumentError(
            f"input_shape must have positive height/width and 1 or 3 channels; got {input_shape!r}."
        )
    return h, w, c


def convert_images(images, input_shape):
    """uint8 or float images (one HxWxC or a batch) -> float32 [0, 255] at ``input_shape``."""
    if tf is None:
        return arrays.convert_images(images, input_shape)
    h, w, c = input_shape
    x = tf.cast(images, tf.float32)
    have_hw = tuple(x.shape[-3:-1])
    if have_hw != (h, w):  # unknown or different size
        # antialias keeps downscaling from aliasing (weights stay positive, so pixels stay in
        # range); upscaling does not need its slower kernel
        shrinking = None in have_hw or have_hw[0] > h or have_hw[1] > w
        x = tf.image.resize(x, (h, w), method="bilinear", antialias=shrinking)
    have = x.shape[-1]
    if have == 1 and c == 3:
        x = tf.image.grayscale_to_rgb(x)
    elif have == 3 and c == 1:
        x = tf.image.rgb_to_grayscale(x)
    elif have is None or have not in (1, 3):
        raise InvalidArgumentError(f"Images with {have} channels cannot be converted to {c}.")
    return tf.ensure_shape(x, [None, h, w, c] if len(x.shape) == 4 else [h, w, c])


def _as_split(ds, what: str):
    if isinstance(ds, Dataset):
        raise InvalidArgumentError(
            f"{what} takes one split (an unbatched tf.data.Dataset), not the whole {ds.name!r} Dataset: "
            "pass data.train, data.val or data.split('test')."
        )
    if isinstance(ds, arrays.ArraySplit):
        return ds
    if tf is None or not isinstance(ds, tf.data.Dataset):
        raise InvalidArgumentError(f"{what} takes a tf.data.Dataset or a zoo.data.arrays.ArraySplit; got "
                                   f"{type(ds).__name__}.")
    return ds


def _static_image_shape(ds):
    spec = ds.element_spec[0]
    return tuple(spec.shape) if spec.shape.is_fully_defined() else None


def make_pipeline(ds, *, input_shape, batch_size: int, training: bool, augment="none", seed: int = 0,
                  cache: bool = True):
    """Batches of (float32 images in [0, 255] at ``input_shape``, int64 labels), prefetched.

    ``training=True`` adds a seeded shuffle (a new order every epoch) and the ``augment`` spec
    applied to whole batches. In-memory splits are already cached; streamed ones are cached when
    they fit in CACHE_BUDGET_BYTES and streamed through a bounded shuffle buffer otherwise.
    """
    ds = _as_split(ds, "make_pipeline")
    input_shape = check_shape(input_shape)
    batch_size = checks.positive_int(batch_size, "batch_size")
    parse_augmentation(augment)  # a typo fails here even in an evaluation pipeline
    if isinstance(ds, arrays.ArraySplit):
        return arrays.ArrayBatches(ds, input_shape=input_shape, batch_size=batch_size, training=training,
                                   augment=augment, seed=seed)
    info = split_info(ds)
    native = _static_image_shape(ds)

    if info.get("arrays") is not None:  # in memory: shuffle indices, gather whole batches
        if "tensors" not in info:  # one device copy per split, however many pipelines use it
            info["tensors"] = tuple(tf.constant(a) for a in info["arrays"])
        return _array_pipeline(*info["tensors"], input_shape=input_shape, batch_size=int(batch_size),
                               training=training, augment=augment, seed=seed)
    if cache:
        ds = cache_split(ds)
        info = split_info(ds)
    size, per_example = _size_and_bytes(ds, info)
    if training:
        if info.get("in_memory") and size:
            # a full shuffle costs no more memory than the data already held
            ds = ds.shuffle(size, seed=seed, reshuffle_each_iteration=True)
        elif info.get("reshuffled"):
            ds = info["reshuffled"](seed)  # e.g. shuffle file names, then decode
        else:
            buffer = SHUFFLE_BUDGET_BYTES // per_example if per_example else 10_000
            ds = ds.shuffle(max(1, min(buffer, size or buffer)), seed=seed, reshuffle_each_iteration=True)

    convert = lambda x, y: (convert_images(x, input_shape), tf.cast(y, tf.int64))
    if native is not None:  # same size everywhere: resize whole batches
        ds = ds.batch(int(batch_size)).map(convert, num_parallel_calls=AUTOTUNE)
    else:  # sizes vary: resize each image, then batch
        ds = ds.map(convert, num_parallel_calls=AUTOTUNE).batch(int(batch_size))

    return _augment_and_prefetch(ds, input_shape, training, augment, seed)


def _size_and_bytes(ds, info) -> tuple[int | None, int | None]:
    """(examples, bytes per decoded example) of a split, None where unknown."""
    native = _static_image_shape(ds)
    size = info.get("size") or (int(ds.cardinality()) if ds.cardinality() >= 0 else None)
    per_example = (info.get("nbytes") // max(size, 1)) if info.get("nbytes") and size else (
        int(np.prod(native)) if native else None)
    return size, per_example


def cache_split(ds):
    """A streamed split cached in memory (and marked so) when it fits CACHE_BUDGET_BYTES, else ``ds``.

    Larger splits stay streamed so peak memory is bounded whatever the dataset size. Call it once
    and hand the result to several ``make_pipeline`` calls (one per epoch) to share one cache.
    """
    info = split_info(ds)
    if info.get("in_memory") or isinstance(ds, arrays.ArraySplit):
        return ds
    size, per_example = _size_and_bytes(ds, info)
    if not (size and per_example and size * per_example <= CACHE_BUDGET_BYTES):
        return ds
    return describe_split(ds.cache(), in_memory=True, size=size, nbytes=size * per_example,
                          image_shape=info.get("image_shape"))


def _array_pipeline(images, labels, *, input_shape, batch_size, training, augment, seed):
    """Batches gathered from in-memory tensors: one gather per batch instead of per-image work."""
    n = int(images.shape[0])
    index = tf.data.Dataset.range(n)
    if training:
        index = index.shuffle(n, seed=seed, reshuffle_each_iteration=True)
    ds = index.batch(batch_size).map(
        lambda i: (convert_images(tf.gather(images, i), input_shape), tf.gather(labels, i)),
        num_parallel_calls=AUTOTUNE,
    )
    return _augment_and_prefetch(ds, input_shape, training, augment, seed)


def _augment_and_prefetch(ds, input_shape, training, augment, seed):
    if training:
        augmenter = build_augmentation(augment, input_shape[2], seed)
        from zoo.backend import name

        if augmenter is not None and name() != "tensorflow":
            raise InvalidArgumentError(f"Augmentation inside a tf.data pipeline runs on TensorFlow only, not {name()}: "
                                       "build it with augment='none' and apply zoo.data.build_augmentation to its "
                                       "batches (as zoo train does), or set KERAS_BACKEND=tensorflow.")
        if augmenter is not None:
            # One batch at a time: the layers' seeded random state then advances in a fixed order,
            # so a seed repeats the same augmentations; the ops inside are vectorised over the
            # batch and multi-threaded, and prefetch overlaps them with training.
            ds = ds.map(lambda x, y: (augmenter(x, training=True), y))
    return ds.prefetch(AUTOTUNE)


def channel_stats(ds, input_shape, max_examples: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel (mean, variance) of the converted images, in units of pixel/255."""
    if isinstance(ds, Dataset):
        ds = ds.train
    ds = _as_split(ds, "channel_stats")
    h, w, c = check_shape(input_shape)
    if isinstance(ds, arrays.ArraySplit):
        return arrays.channel_stats(ds, (h, w, c), max_examples)
    native = _static_image_shape(ds)
    if native is not None and native[-1] == 1 and c == 3:
        # grey copied to RGB: three equal channels, so measure one
        mean, variance = channel_stats(ds, (h, w, 1), max_examples)
        return np.repeat(mean, 3), np.repeat(variance, 3)
    info = split_info(ds)
    if info.get("arrays") is not None:  # in memory: gather batches of 1024, no per-image work
        images, _ = info["arrays"]
        n = len(images) if max_examples is None else min(len(images), int(max_examples))
        images = tf.constant(images[:n])
        ds = tf.data.Dataset.range(n).batch(1024).map(lambda i: convert_images(tf.gather(images, i), (h, w, c)),
                                                      num_parallel_calls=AUTOTUNE)
    else:
        if max_examples is not None:
            ds = ds.take(int(max_examples))
        convert = lambda x, y: convert_images(x, (h, w, c))
        if native is not None:
            ds = ds.batch(1024).map(convert, num_parallel_calls=AUTOTUNE)
        else:
            ds = ds.map(convert, num_parallel_calls=AUTOTUNE).batch(256)

    def add(state, x):
        x = tf.reshape(tf.cast(x, tf.float64) / 255.0, [-1, c])
        return (state[0] + tf.reduce_sum(x, 0), state[1] + tf.reduce_sum(tf.square(x), 0),
                state[2] + tf.cast(tf.shape(x)[0], tf.float64))

    zeros = tf.zeros([c], tf.float64)
    total, total_sq, count = ds.reduce((zeros, zeros, tf.constant(0.0, tf.float64)), add)
    count = float(count)
    if count == 0:
        raise InvalidArgumentError("channel_stats got an empty dataset.")
    mean = total.numpy() / count
    variance = np.maximum(total_sq.numpy() / count - mean**2, 0.0)
    return mean.astype(np.float32), variance.astype(np.float32)


def load_examples(spec, split: str = "test", n: int = 16, *, input_shape=None, data_dir=None, seed: int = 0,
                  val_fraction: float = 0.1):
    """(images float32 N,H,W,C in [0, 255], labels int64, class_names): the first ``n`` of a split.

    ``val_fraction`` and ``seed`` carve val as ``load_dataset`` does: pass a run's own
    (``zoo.run.Run.data_options``) so its val split is the one it held out.
    """
    from zoo.data.sources import load_dataset

    n = checks.positive_int(n, "n")
    data = spec if isinstance(spec, Dataset) else load_dataset(
        spec, data_dir=data_dir, val_fraction=val_fraction, seed=seed, limit=int(n))
    ds = data.split(split).take(int(n))
    if isinstance(ds, arrays.ArraySplit):
        images = arrays.convert_images(ds.images, check_shape(input_shape or ds.image_shape))
        return images, ds.labels.copy(), list(data.class_names)
    if input_shape is None:
        shape = data.image_shape or tuple(next(iter(ds))[0].shape)
        input_shape = shape
    input_shape = check_shape(input_shape)
    images, labels = [], []
    for x, y in ds.map(lambda x, y: (convert_images(x, input_shape), y)).batch(int(n)):
        images.append(x.numpy())
        labels.append(y.numpy())
    return np.concatenate(images), np.concatenate(labels).astype(np.int64), list(data.class_names)

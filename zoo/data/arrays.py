"""The in-memory data path without TensorFlow: splits held as NumPy arrays, batches gathered from them.

On JAX and PyTorch (``KERAS_BACKEND``) the embedded and array datasets (Fashion-MNIST, MNIST, npz)
come as ``ArraySplit`` s instead of tf.data, so ``zoo train``, ``eval``, ``predict``, ``explain`` and
``attack`` run where TensorFlow is not installed. Batches are what ``make_pipeline`` gives on
TensorFlow: float32 images in [0, 255] at the model's input shape and int64 labels; training batches
are shuffled by a seeded permutation and augmented by the same Keras layers (zoo.data.augment), which
run on the backend. As on tf.data, each epoch's order and augmentation come from its own seed, so a
resumed run sees the batches an uninterrupted one would have seen.
"""

from __future__ import annotations

import math

import keras
import numpy as np

from zoo.errors import InvalidArgumentError

# tf.image.rgb_to_grayscale's weights, so a grey model sees the same pixels on every backend
GREY_WEIGHTS = np.array([0.2989, 0.5870, 0.1140], np.float32)


class ArraySplit:
    """An unbatched split of (uint8 HxWxC image, int64 label) pairs held in memory."""

    def __init__(self, images: np.ndarray, labels: np.ndarray):
        self.images = images
        self.labels = np.asarray(labels).astype(np.int64).reshape(-1)
        if len(self.images) != len(self.labels):
            raise InvalidArgumentError(f"{len(self.images)} images but {len(self.labels)} labels.")

    def __len__(self) -> int:
        return len(self.labels)

    def __iter__(self):
        return zip(self.images, self.labels)

    def take(self, n: int) -> "ArraySplit":
        return ArraySplit(self.images[:int(n)], self.labels[:int(n)])

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(int(d) for d in self.images.shape[1:])

    def __repr__(self) -> str:
        return f"ArraySplit({len(self)} images of {self.image_shape})"


def convert_images(images, input_shape) -> np.ndarray:
    """uint8 or float images (a batch) -> float32 [0, 255] at ``input_shape``, as on tf.data."""
    h, w, c = input_shape
    x = np.asarray(images, dtype=np.float32)
    if x.shape[1:3] != (h, w):
        ops = keras.ops
        # antialias when shrinking (as tf.data does), so downscaled pixels do not alias
        shrinking = x.shape[1] > h or x.shape[2] > w
        x = ops.convert_to_numpy(ops.image.resize(x, (h, w), interpolation="bilinear", antialias=shrinking))
    have = x.shape[-1]
    if have == 1 and c == 3:
        x = np.repeat(x, 3, axis=-1)
    elif have == 3 and c == 1:
        x = (x @ GREY_WEIGHTS)[..., None]
    elif have != c:
        raise InvalidArgumentError(f"Images with {have} channels cannot be converted to {c}.")
    return np.ascontiguousarray(x, dtype=np.float32)


class ArrayBatches(keras.utils.PyDataset):
    """Batches of one pass over an ``ArraySplit``: (float32 images at ``input_shape``, int64 labels).

    ``training``: a permutation drawn from ``seed`` and the ``augment`` spec's layers (seeded from it
    too) applied to each batch, read in order. A ``keras.utils.PyDataset``, so ``fit`` and
    ``evaluate`` take it on every backend (a validation split is read again every epoch).
    """

    def __init__(self, split: ArraySplit, *, input_shape, batch_size: int, training: bool, augment="none",
                 seed: int = 0):
        super().__init__(workers=1, use_multiprocessing=False)  # in order: the augmentation stream is seeded
        self.split, self.input_shape, self.batch_size = split, tuple(input_shape), int(batch_size)
        n = len(split)
        self.order = np.random.default_rng(seed).permutation(n) if training else np.arange(n)
        self.augmenter = None
        if training:
            from zoo.data.augment import build_augmentation

            self.augmenter = build_augmentation(augment, self.input_shape[2], int(seed))

    def __len__(self) -> int:
        return math.ceil(len(self.split) / self.batch_size)

    def __getitem__(self, i: int):
        index = self.order[i * self.batch_size:(i + 1) * self.batch_size]
        images = convert_images(self.split.images[index], self.input_shape)
        if self.augmenter is not None:
            images = keras.ops.convert_to_numpy(self.augmenter(images, training=True)).astype(np.float32)
        return images, self.split.labels[index]

    def __iter__(self):
        return (self[i] for i in range(len(self)))


def epoch_stream(split: ArraySplit, *, input_shape, batch_size: int, augment, epoch_seed, first: int, last: int):
    """Batches of epochs ``first..last-1`` one after the other, epoch e from ``epoch_seed(e)``: one
    stream for ``model.fit(steps_per_epoch=...)``, as the tf.data path concatenates its epochs."""
    for e in range(first, last):
        yield from ArrayBatches(split, input_shape=input_shape, batch_size=batch_size, training=True,
                                augment=augment, seed=epoch_seed(e))


def channel_stats(split: ArraySplit, input_shape, max_examples: int | None = None):
    """Per-channel (mean, variance) of the converted images in units of pixel/255 (float64 sums)."""
    h, w, c = input_shape
    n = len(split) if max_examples is None else min(len(split), int(max_examples))
    if n == 0:
        raise InvalidArgumentError("channel_stats got an empty dataset.")
    total = np.zeros(c)
    total_sq = np.zeros(c)
    for start in range(0, n, 4096):
        x = convert_images(split.images[start:min(n, start + 4096)], (h, w, c)).astype(np.float64) / 255.0
        x = x.reshape(-1, c)
        total += x.sum(0)
        total_sq += np.square(x).sum(0)
    count = n * h * w
    mean = total / count
    return mean.astype(np.float32), np.maximum(total_sq / count - mean**2, 0.0).astype(np.float32)

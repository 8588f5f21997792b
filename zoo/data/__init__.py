"""Datasets and tf.data pipelines: embedded Fashion-MNIST/MNIST, TFDS, image folders, npz.

    data = load_dataset("fashion_mnist")              # unbatched uint8 splits
    train = make_pipeline(data.train, input_shape=(28, 28, 1), batch_size=128,
                          training=True, augment="light")

Names resolve on first use, so listing datasets (`zoo datasets`) does not import TensorFlow.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "Dataset": "zoo.data.dataset",
    "load_dataset": "zoo.data.sources",
    "available_datasets": "zoo.data.sources",
    "FASHION_MNIST_CLASSES": "zoo.data.idx_source",
    "make_pipeline": "zoo.data.pipeline",
    "cache_split": "zoo.data.pipeline",
    "channel_stats": "zoo.data.pipeline",
    "load_examples": "zoo.data.pipeline",
    "convert_images": "zoo.data.pipeline",
    "build_augmentation": "zoo.data.augment",
    "augmentation_names": "zoo.data.augment",
    "describe_augmentations": "zoo.data.augment",
    "parse_augmentation": "zoo.data.augment",
}
__all__ = list(_EXPORTS)


def __getattr__(name):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'zoo.data' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_EXPORTS))

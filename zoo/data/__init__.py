"""Datasets and tf.data pipelines: embedded Fashion-MNIST/MNIST, TFDS, image folders, npz.

    data = load_dataset("fashion_mnist")              # unbatched uint8 splits
    train = make_pipeline(data.train, input_shape=(28, 28, 1), batch_size=128,
                          training=True, augment="light")
"""

from zoo.data.augment import augmentation_names, build_augmentation, describe_augmentations, parse_augmentation
from zoo.data.dataset import Dataset
from zoo.data.pipeline import channel_stats, convert_images, load_examples, make_pipeline
from zoo.data.sources import FASHION_MNIST_CLASSES, available_datasets, load_dataset

__all__ = [
    "Dataset",
    "load_dataset",
    "make_pipeline",
    "channel_stats",
    "load_examples",
    "available_datasets",
    "build_augmentation",
    "augmentation_names",
    "describe_augmentations",
    "parse_augmentation",
    "convert_images",
    "FASHION_MNIST_CLASSES",
]

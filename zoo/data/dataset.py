"""The Dataset record every source returns: unbatched uint8 splits plus what is known about them."""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from zoo.errors import DataError

if TYPE_CHECKING:  # annotations only: importing this module stays TensorFlow-free
    import tensorflow as tf

SPLITS = ("train", "val", "test")

# Facts about split datasets that tf.data cannot tell (is it held in memory? how many bytes?),
# keyed weakly by the tf.data.Dataset so make_pipeline can decide to cache without a Dataset.
_SPLIT_INFO: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def describe_split(ds: tf.data.Dataset, *, in_memory: bool, size: int | None, nbytes: int | None,
                   image_shape=None, reshuffled=None, arrays=None) -> tf.data.Dataset:
    """Remember how ``ds`` is stored; returns ``ds`` for chaining.

    ``reshuffled(seed)``, when given, rebuilds the split in a fresh order every epoch more cheaply
    than a shuffle buffer of decoded images (e.g. by shuffling file names before decoding).
    ``arrays`` = (images, labels) of an in-memory split lets pipelines gather whole batches.
    """
    _SPLIT_INFO[ds] = {"in_memory": in_memory, "size": size, "nbytes": nbytes, "image_shape": image_shape,
                       "reshuffled": reshuffled, "arrays": arrays}
    return ds


def split_info(ds: tf.data.Dataset) -> dict:
    return _SPLIT_INFO.get(ds, {})


@dataclass
class Dataset:
    """A classification dataset: unbatched ``(image uint8 HxWxC, label int64)`` splits."""

    name: str  # "fashion_mnist", "tfds:cifar10", "folder:/path", "npz:/path"
    class_names: list[str]
    image_shape: tuple[int, int, int] | None  # native (H, W, C); None when images vary in size
    train: tf.data.Dataset
    val: tf.data.Dataset | None  # carved from train with the seed, or the source's own
    test: tf.data.Dataset | None
    sizes: dict[str, int]  # examples per split after val carving and limit
    source: str  # where it was found (path) or how it was obtained
    in_memory: bool = field(default=False, repr=False)  # splits are numpy arrays behind tf.data
    image_channels: int | None = None  # 1 or 3 when known although sizes vary (a folder of mixed sizes)

    @classmethod
    def from_splits(cls, splits: dict, **fields) -> "Dataset":
        """A Dataset from ``{"train": ds, "val": ds, "test": ds}`` (val and test optional) and the
        other fields (name, class_names, image_shape, sizes, source ...)."""
        return cls(train=splits["train"], val=splits.get("val"), test=splits.get("test"), **fields)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def channels(self) -> int | None:
        return self.image_shape[2] if self.image_shape is not None else self.image_channels

    def split(self, name: str) -> tf.data.Dataset:
        name = {"validation": "val", "valid": "val"}.get(name, name)
        if name not in SPLITS:
            raise DataError(f"Unknown split {name!r}: use one of {', '.join(SPLITS)}.")
        ds = getattr(self, name)
        if ds is None:
            have = [s for s in SPLITS if getattr(self, s) is not None]
            hint = " (pass a val_fraction > 0 to carve one from train)" if name == "val" else ""
            raise DataError(
                f"Dataset {self.name!r} has no {name!r} split{hint}; it has: {', '.join(have)}."
            )
        return ds

"""``folder:PATH``: one subfolder of images per class (the ``image_dataset_from_directory`` layout).

``PATH/<class>/*.png|jpg|...``, or ``PATH/train/<class>/...`` with ``PATH/test/`` (and
``PATH/val/`` or ``PATH/validation/``) beside it. Every image is decoded once at load time by a
parallel tf.data pass, so an unreadable or corrupt file is named up front (``on_bad_image="fail"``)
or dropped (``"skip"``) instead of failing mid-epoch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import os
import warnings
from pathlib import Path

import numpy as np

from zoo.data.dataset import Dataset, describe_split
from zoo.data.sources import Source, register
from zoo.data.splits import capped, carve_indices
from zoo.errors import DataError, InvalidArgumentError

if TYPE_CHECKING:  # TensorFlow is imported by the functions that use it: listing sources stays light
    import tensorflow as tf

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif")
SPLIT_DIRS = {"train": ("train",), "val": ("val", "validation"), "test": ("test",)}
ON_BAD_IMAGE = ("fail", "skip")


def load_folder(path, *, on_bad_image="fail", val_fraction=0.1, seed=0, limit=None) -> Dataset:
    if on_bad_image not in ON_BAD_IMAGE:
        raise InvalidArgumentError(f"on_bad_image must be 'fail' or 'skip'; got {on_bad_image!r}.")
    root = Path(path).expanduser()
    if not root.is_dir():
        raise DataError(f"Image folder {root} does not exist or is not a directory.")
    split_roots = _split_roots(root)
    class_names = _class_names(split_roots["train"])
    files = {name: _list_files(split_root, class_names, name) for name, split_root in split_roots.items()}

    shapes = {}
    for name, (paths, labels) in list(files.items()):
        keep, shapes[name] = _scan(paths, on_bad_image)
        files[name] = (paths[keep], labels[keep])
        if len(files[name][0]) == 0:
            raise DataError(f"No readable images in the {name} split of {split_roots[name]}.")
    all_shapes = np.concatenate(list(shapes.values()))
    channels = 1 if np.all(all_shapes[:, 2] <= 2) else 3  # grey (+alpha) stays grey; else RGB
    sizes_hw = {tuple(hw) for hw in all_shapes[:, :2].tolist()}
    image_shape = (*sizes_hw.pop(), channels) if len(sizes_hw) == 1 else None
    # decoded bytes per file, carried along so make_pipeline can tell whether a split fits the cache
    files = {name: (p, y, shapes[name][:, 0] * shapes[name][:, 1] * channels) for name, (p, y) in files.items()}

    # A seeded order mixes the classes, so "first n" (limit, load_examples) is not one class.
    rng = np.random.default_rng(seed)
    files = {name: tuple(a[order] for a in arrays)
             for name, arrays in files.items() for order in [rng.permutation(len(arrays[0]))]}
    if "val" not in files and val_fraction > 0:
        arrays = files["train"]
        train_idx, val_idx = carve_indices(len(arrays[0]), val_fraction, seed)
        if len(val_idx):
            files["train"] = tuple(a[train_idx] for a in arrays)
            files["val"] = tuple(a[val_idx] for a in arrays)

    datasets, sizes = {}, {}
    for name in ("train", "val", "test"):
        if name not in files:
            continue
        n = capped(len(files[name][0]), limit)
        paths, labels, nbytes = (a[:n] for a in files[name])
        datasets[name] = _split_dataset(paths, labels, int(nbytes.sum()), channels, image_shape)
        sizes[name] = n
    return Dataset.from_splits(
        datasets,
        name=f"folder:{root}",
        class_names=class_names,
        image_shape=image_shape,
        sizes=sizes,
        source=str(root),
        image_channels=channels,
    )


def _split_roots(root: Path) -> dict[str, Path]:
    roots = {}
    for split, names in SPLIT_DIRS.items():
        for name in names:
            if (root / name).is_dir():
                roots[split] = root / name
                break
    if "train" in roots and len(roots) > 1:
        return roots
    return {"train": root}


def _class_names(root: Path) -> list[str]:
    classes = sorted(d.name for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
    if not classes:
        loose = [f.name for f in root.iterdir() if f.suffix.lower() in IMAGE_EXTENSIONS][:3]
        hint = f" (it holds loose images such as {', '.join(loose)}: move them into class folders)" if loose else ""
        raise DataError(
            f"Image folder {root} has no class subfolders{hint}. Expected {root}/<class name>/<images>."
        )
    if len(classes) == 1:
        raise DataError(
            f"Image folder {root} has a single class folder ({classes[0]!r}); classification needs at "
            f"least two, e.g. {root}/cats and {root}/dogs."
        )
    return classes


def _list_files(root: Path, class_names: list[str], split: str) -> tuple[np.ndarray, np.ndarray]:
    present = sorted(d.name for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
    extra = sorted(set(present) - set(class_names))
    if extra:
        raise DataError(f"The {split} folder {root} has classes not in train: {', '.join(extra)}.")
    paths, labels, empty = [], [], []
    for label, name in enumerate(class_names):
        class_dir = root / name
        if not class_dir.is_dir():
            continue
        found = _images_under(class_dir)
        if not found:
            empty.append(name)
        paths += found
        labels += [label] * len(found)
    if not paths:
        raise DataError(
            f"Image folder {root} holds no images ({', '.join(IMAGE_EXTENSIONS)}) in its class folders "
            f"({', '.join(present[:5])})."
        )
    if empty and split == "train":  # a class with nothing to learn from would only dilute the others
        raise DataError(f"The class folder(s) {', '.join(empty)} in {root} hold no images; add images to them "
                        "or remove them.")
    return np.array(paths), np.array(labels, dtype=np.int64)


def _images_under(class_dir: Path) -> list[str]:
    """Image files below ``class_dir``, following symlinks but each real folder and file once.

    A symlink loop (a folder linking to its parent) would otherwise list the same images dozens of
    times, duplicated across the train and val splits.
    """
    seen_dirs, seen_files, found = set(), set(), []
    for dirpath, dirnames, filenames in os.walk(class_dir, followlinks=True):
        real = os.path.realpath(dirpath)
        if real in seen_dirs:
            dirnames[:] = []
            continue
        seen_dirs.add(real)
        dirnames.sort()
        for f in sorted(filenames):
            path = os.path.join(dirpath, f)
            if f.lower().endswith(IMAGE_EXTENSIONS) and not f.startswith(".") and os.path.realpath(path) not in seen_files:
                seen_files.add(os.path.realpath(path))
                found.append(path)
    return sorted(found)


def _scan(paths: np.ndarray, on_bad_image: str) -> tuple[np.ndarray, np.ndarray]:
    """(mask of decodable files, their H,W,C) from one parallel decode pass; names bad files."""
    import tensorflow as tf

    def probe(i, path):
        image = tf.io.decode_image(tf.io.read_file(path), expand_animations=False)
        return i, tf.shape(image)

    ds = (tf.data.Dataset.from_tensor_slices(paths).enumerate()
          .map(probe, num_parallel_calls=tf.data.AUTOTUNE, deterministic=False)
          .ignore_errors().batch(4096))
    ok = np.zeros(len(paths), dtype=bool)
    shapes = np.zeros((len(paths), 3), dtype=np.int64)
    for idx, shape in ds:
        ok[idx.numpy()] = True
        shapes[idx.numpy()] = shape.numpy()
    bad = paths[~ok]
    if len(bad):
        shown = ", ".join(bad[:5]) + (f" and {len(bad) - 5} more" if len(bad) > 5 else "")
        if on_bad_image == "fail":
            raise DataError(
                f"Cannot decode {len(bad)} image(s): {shown}. Fix or remove them, or pass "
                "on_bad_image='skip' (--skip-bad-images) to leave them out."
            )
        warnings.warn(f"Skipped {len(bad)} unreadable image(s): {shown}.", stacklevel=3)
    return ok, shapes[ok]


def _split_dataset(paths: np.ndarray, labels: np.ndarray, nbytes: int, channels: int, image_shape
                   ) -> tf.data.Dataset:
    import tensorflow as tf

    def decode(path, label):
        # dtype=uint8 rescales 16-bit PNGs instead of wrapping them
        image = tf.io.decode_image(tf.io.read_file(path), channels=channels, dtype=tf.uint8,
                                   expand_animations=False)
        if image_shape is not None:
            image = tf.ensure_shape(image, image_shape)
        else:
            image.set_shape([None, None, channels])
        return image, label

    def files(shuffle_seed=None):
        ds = tf.data.Dataset.from_tensor_slices((paths, labels))
        if shuffle_seed is not None:  # shuffling names is cheap: full shuffle, bounded memory
            ds = ds.shuffle(len(paths), seed=shuffle_seed, reshuffle_each_iteration=True)
        return ds.map(decode, num_parallel_calls=tf.data.AUTOTUNE)

    ds = files().apply(tf.data.experimental.assert_cardinality(len(paths)))
    return describe_split(ds, in_memory=False, size=len(paths), nbytes=nbytes, image_shape=image_shape,
                          reshuffled=files)


def _load(path, *, data_dir=None, download=False, on_bad_image="fail", **split_args) -> Dataset:
    return load_folder(path, on_bad_image=on_bad_image, **split_args)


def _claims(spec: str) -> bool:
    return Path(spec).expanduser().is_dir()


register(Source(
    usage="folder:PATH", prefix="folder", load=_load, order=30, claims_path=_claims,
    template={"name": "folder:PATH", "title": "a folder with one subfolder of images per class", "classes": None, "found": None, "where": "your disk (optional train/ val/ test/ subfolders)", "sizes": {}},
))

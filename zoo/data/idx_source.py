"""The MNIST family as a source: ``fashion_mnist`` and ``mnist``, read from their four IDX files
wherever installers put them (Debian's dataset-fashion-mnist, Keras' cache, --data-dir), else from
prepared TFDS data (or TFDS with --download).
"""

from __future__ import annotations

import gzip
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from zoo.data.dataset import Dataset
from zoo.data.idx import read_idx_pair
from zoo.data.sources import Source, register
from zoo.errors import DataError

FASHION_MNIST_CLASSES = [
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
]


@dataclass(frozen=True)
class IdxFamily:
    """An MNIST-style dataset shipped as four IDX files, and where installers put them."""

    name: str
    title: str
    class_names: tuple[str, ...]
    dir_names: tuple[str, ...]  # sub-directory names tried under data_dir / $ZOO_DATA_DIR
    system_dirs: tuple[str, ...]  # Debian package, Keras cache
    apt_package: str | None
    tfds_name: str
    keras_npz: str | None = None  # keras.datasets' own cache file, when it is an .npz


IDX_FAMILIES = {
    "fashion_mnist": IdxFamily(
        name="fashion_mnist",
        title="Fashion-MNIST",
        class_names=tuple(FASHION_MNIST_CLASSES),
        dir_names=("fashion-mnist", "fashion_mnist"),
        system_dirs=("/usr/share/datasets/fashion-mnist", "~/.keras/datasets/fashion-mnist"),
        apt_package="dataset-fashion-mnist",
        tfds_name="fashion_mnist",
    ),
    "mnist": IdxFamily(
        name="mnist",
        title="MNIST",
        class_names=tuple(str(d) for d in range(10)),
        dir_names=("mnist",),
        # Debian has no MNIST package (only dataset-fashion-mnist); this is the path its
        # naming scheme would use, so a local copy put there is found too.
        system_dirs=("/usr/share/datasets/mnist", "~/.keras/datasets/mnist"),
        apt_package=None,
        tfds_name="mnist",
        keras_npz="~/.keras/datasets/mnist.npz",
    ),
}
ALIASES = {"fashion-mnist": "fashion_mnist", "fmnist": "fashion_mnist", "fashionmnist": "fashion_mnist"}

# The four files, under the names the original sites and the Debian package use (".gz" optional).
IDX_FILES = {
    "train_images": ("train-images-idx3-ubyte", "train-images.idx3-ubyte"),
    "train_labels": ("train-labels-idx1-ubyte", "train-labels.idx1-ubyte"),
    "test_images": ("t10k-images-idx3-ubyte", "t10k-images.idx3-ubyte"),
    "test_labels": ("t10k-labels-idx1-ubyte", "t10k-labels.idx1-ubyte"),
}


def _candidate_dirs(family: IdxFamily, data_dir) -> list[Path]:
    dirs = []
    for base in (data_dir, os.environ.get("ZOO_DATA_DIR")):
        if base:
            base = Path(base).expanduser()
            dirs += [base] + [base / sub for sub in family.dir_names]
    dirs += [Path(d).expanduser() for d in family.system_dirs]
    seen, unique = set(), []
    for d in dirs:
        if d not in seen:
            seen.add(d)
            unique.append(d)
    return unique


def _find_file(directory: Path, names) -> Path | None:
    for name in names:
        for candidate in (directory / f"{name}.gz", directory / name):
            if candidate.is_file():
                return candidate
    return None


def locate_idx(family: IdxFamily, data_dir=None) -> tuple[dict | None, list[tuple[Path, list[str]]]]:
    """(files of the first directory holding all four, [(dir, missing names)] of partial ones)."""
    partial = []
    for directory in _candidate_dirs(family, data_dir):
        if not directory.is_dir():
            continue
        found = {key: _find_file(directory, names) for key, names in IDX_FILES.items()}
        missing = [IDX_FILES[key][0] + ".gz" for key, path in found.items() if path is None]
        if not missing:
            return found, partial
        if len(missing) < len(IDX_FILES):
            partial.append((directory, missing))
    return None, partial


def _load_idx_family(family: IdxFamily, *, data_dir, download, val_fraction, seed, limit) -> Dataset:
    files, partial = locate_idx(family, data_dir)
    keras_npz = Path(family.keras_npz).expanduser() if family.keras_npz else None
    if files is None and keras_npz is not None and keras_npz.is_file():
        from zoo.data.npz_source import load_npz

        ds = load_npz(keras_npz, val_fraction=val_fraction, seed=seed, limit=limit)
        ds.name, ds.class_names = family.name, list(family.class_names)
        return ds
    if files is None:
        from zoo.data import tfds_source

        if tfds_source.is_prepared(family.tfds_name, data_dir) or download:
            ds = tfds_source.load_tfds(family.tfds_name, data_dir=data_dir, download=download,
                                       val_fraction=val_fraction, seed=seed, limit=limit)
            ds.name, ds.class_names = family.name, list(family.class_names)
            return ds
        raise DataError(missing_message(family, data_dir, partial))
    x_train, y_train = read_idx_pair(files["train_images"], files["train_labels"])
    x_test, y_test = read_idx_pair(files["test_images"], files["test_labels"])
    for path, labels in ((files["train_labels"], y_train), (files["test_labels"], y_test)):
        if labels.size and labels.max() >= len(family.class_names):
            raise DataError(
                f"{path} holds label {int(labels.max())} but {family.title} has "
                f"{len(family.class_names)} classes; the file is not a {family.title} label file."
            )
    if x_train.shape[1:] != x_test.shape[1:]:
        raise DataError(
            f"{files['train_images']} holds {x_train.shape[1:]} images but {files['test_images']} "
            f"holds {x_test.shape[1:]}; the files do not belong together."
        )
    from zoo.data.splits import splits_from_arrays

    splits, sizes = splits_from_arrays(
        {"train": (x_train, y_train), "test": (x_test, y_test)},
        val_fraction=val_fraction, seed=seed, limit=limit,
    )
    return Dataset.from_splits(
        splits,
        name=family.name,
        class_names=list(family.class_names),
        image_shape=tuple(int(d) for d in x_train.shape[1:]),
        sizes=sizes,
        source=str(files["train_images"].parent),
        in_memory=True,
    )


def how_to_get(family: IdxFamily) -> str:
    ways = []
    if family.apt_package:
        ways.append(f"`sudo apt-get install {family.apt_package}`")
    ways.append(f"`--download` or `zoo data download {family.name}` (through TFDS)")
    ways.append("the four IDX files in --data-dir or $ZOO_DATA_DIR")
    return ", or ".join(ways)


def missing_message(family: IdxFamily, data_dir, partial) -> str:
    names = ", ".join(names[0] + ".gz" for names in IDX_FILES.values())
    looked = ", ".join(str(d) for d in _candidate_dirs(family, data_dir))
    msg = f"{family.title} not found: need {names} (looked in {looked}, and the TFDS data dir)."
    for directory, missing in partial:
        msg += f" {directory} lacks {', '.join(missing)}."
    return msg + f" Get it with {how_to_get(family)}."


def idx_header_count(path: Path) -> int:
    """Number of items in an IDX file, read from its header only (cheap, for `zoo datasets`)."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as fh:
        head = fh.read(8)
    if len(head) < 8:
        raise DataError(f"{path} is not a valid IDX file: truncated header.")
    return int(np.frombuffer(head, ">i4", count=1, offset=4)[0])


def family_rows(data_dir=None) -> list[dict]:
    """The `zoo datasets` rows of the IDX families: found where, with what sizes, or how to get them."""
    from zoo.data import tfds_source

    rows = []
    for family in IDX_FAMILIES.values():
        files, partial = locate_idx(family, data_dir)
        row = {"name": family.name, "title": family.title, "classes": list(family.class_names)}
        if files is not None:
            try:
                sizes = {
                    "train": idx_header_count(files["train_images"]),
                    "test": idx_header_count(files["test_images"]),
                }
                row |= {"found": True, "where": str(files["train_images"].parent), "sizes": sizes}
            except (OSError, EOFError, DataError) as exc:
                row |= {"found": False, "where": f"corrupt: {exc}", "sizes": {}}
        elif tfds_source.is_prepared(family.tfds_name, data_dir):
            row |= {"found": True, "where": f"TFDS data dir ({tfds_source.data_dir_for(data_dir)})",
                    "sizes": tfds_source.prepared_sizes(family.tfds_name, data_dir)}
        else:
            row |= {"found": False, "where": f"get it with {how_to_get(family)}", "sizes": {}}
        rows.append(row)
    return rows


def _load(name, *, data_dir=None, download=False, on_bad_image="fail", **split_args) -> Dataset:
    return _load_idx_family(IDX_FAMILIES[name], data_dir=data_dir, download=download, **split_args)


def _download(name, data_dir=None) -> str:
    from zoo.data import tfds_source

    return tfds_source.prepare(IDX_FAMILIES[name].tfds_name, data_dir)


register(Source(
    usage="fashion_mnist", load=_load, order=10, rows=family_rows, download=_download,
    names={**{name: name for name in IDX_FAMILIES}, **ALIASES},
    tfds_names=tuple(f.tfds_name for f in IDX_FAMILIES.values()),
))

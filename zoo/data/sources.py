"""load_dataset: one entry point for every source, and the catalogue behind `zoo datasets`.

Specs: ``fashion_mnist`` / ``mnist`` (IDX files found on disk, or TFDS), ``tfds:NAME``,
``folder:PATH`` (one subfolder per class) and ``npz:PATH`` (arrays ``x`` and ``y``).
"""

from __future__ import annotations

import gzip
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from zoo.data.dataset import Dataset
from zoo.data.idx import read_idx_pair
from zoo.errors import DataError, InvalidArgumentError, UnknownNameError, close_matches_hint

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
PREFIXES = ("tfds:", "folder:", "npz:")


def load_dataset(
    spec: str = "fashion_mnist",
    *,
    data_dir=None,
    download: bool = False,
    val_fraction: float = 0.1,
    seed: int = 0,
    limit: int | None = None,
    on_bad_image: str = "fail",
) -> Dataset:
    """Load a dataset by spec; splits are unbatched ``(uint8 HxWxC, int64)`` tf.data datasets.

    ``val_fraction`` of train becomes val (seeded, reproducible) unless the source has its own;
    ``limit`` caps every split at that many examples (quick runs).
    """
    from zoo.data.splits import check_split_args

    check_split_args(val_fraction, limit)
    if on_bad_image not in ("fail", "skip"):
        raise InvalidArgumentError(f"on_bad_image must be 'fail' or 'skip'; got {on_bad_image!r}.")
    kind, arg = parse_spec(spec)
    common = dict(val_fraction=val_fraction, seed=seed, limit=limit)
    if kind == "idx":
        return _load_idx_family(IDX_FAMILIES[arg], data_dir=data_dir, download=download, **common)
    if kind == "tfds":
        from zoo.data.tfds_source import load_tfds

        return load_tfds(arg, data_dir=data_dir, download=download, **common)
    if kind == "folder":
        from zoo.data.folder import load_folder

        return load_folder(arg, on_bad_image=on_bad_image, **common)
    from zoo.data.npz import load_npz

    return load_npz(arg, **common)


def parse_spec(spec) -> tuple[str, str]:
    """'fashion_mnist' -> ('idx', 'fashion_mnist'); 'tfds:cifar10' -> ('tfds', 'cifar10') ..."""
    if isinstance(spec, os.PathLike):
        spec = os.fspath(spec)
    if not isinstance(spec, str) or not spec.strip():
        raise InvalidArgumentError(f"A dataset spec must be a non-empty string; got {spec!r}.")
    spec = spec.strip()
    for prefix in PREFIXES:
        if spec.lower().startswith(prefix):
            arg = spec[len(prefix):].strip()
            if not arg:
                raise InvalidArgumentError(
                    f"Dataset spec {spec!r} lacks its argument: write {prefix}NAME_OR_PATH."
                )
            return prefix[:-1], arg
    key = spec.lower().replace("-", "_")
    key = ALIASES.get(spec.lower(), key)
    if key in IDX_FAMILIES:
        return "idx", key
    # A bare path is understood too: a directory of class folders, or an .npz file.
    path = Path(spec).expanduser()
    if path.is_dir():
        return "folder", spec
    if path.suffix == ".npz" and path.is_file():
        return "npz", spec
    choices = list(IDX_FAMILIES) + ["tfds:NAME", "folder:PATH", "npz:PATH"]
    raise UnknownNameError(f"Unknown dataset {spec!r}." + close_matches_hint(spec, choices))


# --------------------------------------------------------------------------- IDX families


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
        from zoo.data.npz import load_npz

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
    return Dataset(
        name=family.name,
        class_names=list(family.class_names),
        image_shape=tuple(int(d) for d in x_train.shape[1:]),
        train=splits["train"],
        val=splits.get("val"),
        test=splits.get("test"),
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


def available_datasets(data_dir=None) -> list[dict]:
    """What `zoo datasets` shows: each source, where it was found or how to get it, classes, sizes."""
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
    for name in tfds_source.prepared_datasets(data_dir):
        if name in {f.tfds_name for f in IDX_FAMILIES.values()}:
            continue
        rows.append({"name": f"tfds:{name}", "title": name, "classes": None, "found": True,
                     "where": f"TFDS data dir ({tfds_source.data_dir_for(data_dir)})",
                     "sizes": tfds_source.prepared_sizes(name, data_dir)})
    rows += [
        {"name": "tfds:NAME", "title": "any TFDS image classification dataset", "classes": None,
         "found": None, "where": "prepared TFDS data, or --download", "sizes": {}},
        {"name": "folder:PATH", "title": "a folder with one subfolder of images per class",
         "classes": None, "found": None, "where": "your disk (optional train/ val/ test/ subfolders)",
         "sizes": {}},
        {"name": "npz:PATH", "title": "a NumPy .npz with arrays x (N,H,W[,C]) and y (N,)",
         "classes": None, "found": None, "where": "your disk (or x_train/y_train/x_test/y_test)",
         "sizes": {}},
    ]
    return rows


def download(spec: str, data_dir=None) -> str:
    """Download and prepare a dataset through TFDS (``fashion_mnist``, ``mnist`` or ``tfds:NAME``).

    Returns where it was prepared.
    """
    from zoo.data import tfds_source

    kind, arg = parse_spec(spec)
    if kind == "idx":
        arg = IDX_FAMILIES[arg].tfds_name
    elif kind != "tfds":
        raise DataError(f"Only TFDS datasets can be downloaded (fashion_mnist, mnist, tfds:NAME); got {spec!r}.")
    return tfds_source.prepare(arg, data_dir)

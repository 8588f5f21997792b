"""``npz:PATH``: a NumPy archive with ``x`` (N,H,W[,C]) and ``y`` (N,), or the Keras layout
``x_train``/``y_train``/``x_test``/``y_test`` (optionally ``x_val``/``y_val``), and optionally
``class_names``. Float images in [0, 1] are scaled to [0, 255]; floats in [0, 255] are rounded.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from zoo.data.dataset import Dataset
from zoo.data.sources import Source, register
from zoo.data.splits import splits_from_arrays
from zoo.errors import DataError

LAYOUTS = {"x": "train", "x_train": "train", "x_val": "val", "x_test": "test"}
MAX_CLASSES = 100_000  # ImageNet-21k has ~21k; a larger index is a mistake, not a class list to build


def load_npz(path, *, val_fraction=0.1, seed=0, limit=None) -> Dataset:
    path = Path(path).expanduser()
    if not path.is_file():
        raise DataError(f"No such .npz file: {path}.")
    try:
        with np.load(path, allow_pickle=False) as archive:
            contents = {key: archive[key] for key in archive.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise DataError(f"Cannot read {path} as a NumPy .npz archive: {exc}.") from None
    x_keys = [k for k in LAYOUTS if k in contents]
    if not x_keys or ("x" in contents and len(x_keys) > 1):
        raise DataError(
            f"{path} must hold arrays 'x' and 'y' (or x_train/y_train[/x_test/y_test]); it holds "
            f"{', '.join(sorted(contents)) or 'nothing'}."
        )
    arrays = {}
    for x_key in x_keys:
        y_key = "y" + x_key[1:]
        if y_key not in contents:
            raise DataError(f"{path} has {x_key!r} but no {y_key!r} (the labels).")
        x = _images(contents[x_key], path, x_key)
        y = _labels(contents[y_key], path, y_key)
        if len(x) != len(y):
            raise DataError(f"{path}: {x_key!r} holds {len(x)} images but {y_key!r} holds {len(y)} labels.")
        arrays[LAYOUTS[x_key]] = (x, y)
    shapes = {x.shape[1:] for x, _ in arrays.values()}
    if len(shapes) > 1:
        raise DataError(f"{path}: splits have different image shapes {sorted(shapes)}.")
    num_classes = int(max(int(y.max()) for _, y in arrays.values() if len(y))) + 1
    seen = np.unique(np.concatenate([y for _, y in arrays.values()]))
    if num_classes > MAX_CLASSES:
        raise DataError(f"{path}: labels go up to {num_classes - 1}, more than {MAX_CLASSES:,} classes; labels must "
                        "be class indices 0..K-1.")
    if len(seen) < 2:
        raise DataError(f"{path}: every label is {int(seen[0])}: a classifier needs at least 2 classes "
                        "(it would score 100% by always answering the one).")
    if "class_names" in contents:
        class_names = [str(c) for c in contents["class_names"].tolist()]
        if len(class_names) < num_classes:
            raise DataError(f"{path}: labels go up to {num_classes - 1} but class_names has {len(class_names)} names.")
    else:
        class_names = [str(i) for i in range(num_classes)]
    splits, sizes = splits_from_arrays(arrays, val_fraction=val_fraction, seed=seed, limit=limit)
    return Dataset.from_splits(
        splits,
        name=f"npz:{path}",
        class_names=class_names,
        image_shape=tuple(int(d) for d in shapes.pop()),
        sizes=sizes,
        source=str(path),
        in_memory=True,
    )


def _images(x: np.ndarray, path, key) -> np.ndarray:
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4 or x.shape[-1] not in (1, 3) or len(x) == 0:
        raise DataError(f"{path}: {key!r} must be N,H,W or N,H,W,C with C 1 or 3 and N > 0; got shape {x.shape}.")
    if x.dtype == np.uint8:
        return x
    if not (np.issubdtype(x.dtype, np.floating) or np.issubdtype(x.dtype, np.integer)):
        raise DataError(f"{path}: {key!r} must hold numbers; got dtype {x.dtype}.")
    if np.issubdtype(x.dtype, np.floating) and not np.all(np.isfinite(x)):
        bad = int(np.count_nonzero(~np.isfinite(x)))
        raise DataError(f"{path}: {key!r} holds {bad} NaN or infinite pixel value(s); fix or drop those images.")
    lo, hi = float(x.min()), float(x.max())
    if lo < 0 or hi > 255:
        raise DataError(f"{path}: {key!r} values span [{lo:g}, {hi:g}]; expected pixels in [0, 1] or [0, 255].")
    scale = 255.0 if np.issubdtype(x.dtype, np.floating) and hi <= 1.0 else 1.0
    return np.round(x.astype(np.float32) * scale).astype(np.uint8)


def _labels(y: np.ndarray, path, key) -> np.ndarray:
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer) or (y.size and y.min() < 0):
        raise DataError(f"{path}: {key!r} must be N non-negative integer labels; got shape {y.shape}, dtype {y.dtype}.")
    return y.astype(np.int64)


def _load(path, *, data_dir=None, download=False, on_bad_image="fail", **split_args) -> Dataset:
    return load_npz(path, **split_args)


def _claims(spec: str) -> bool:
    return Path(spec).suffix == ".npz" and Path(spec).is_file()


register(Source(
    usage="npz:PATH", prefix="npz", load=_load, order=40, claims_path=_claims,
    template={"name": "npz:PATH", "title": "a NumPy .npz with arrays x (N,H,W[,C]) and y (N,)", "classes": None, "found": None, "where": "your disk (or x_train/y_train/x_test/y_test)", "sizes": {}},
))

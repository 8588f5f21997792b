"""``tfds:NAME``: any TFDS image-classification dataset, read from the TFDS data dir.

Nothing is downloaded unless ``download=True``; a dataset that is not prepared is a DataError
that says how to get it.
"""

from __future__ import annotations

import os
from pathlib import Path

from zoo.data.dataset import Dataset
from zoo.data.sources import Source, register
from zoo.errors import DataError, UnknownNameError, close_matches_hint

# TFDS split name -> ours
SPLIT_NAMES = {"train": "train", "validation": "val", "val": "val", "test": "test"}


def data_dir_for(data_dir=None) -> str:
    if data_dir:
        return str(Path(data_dir).expanduser())
    return os.environ.get("TFDS_DATA_DIR") or str(Path("~/tensorflow_datasets").expanduser())


def _builder(name: str, data_dir=None):
    import tensorflow_datasets as tfds

    try:
        return tfds.builder(name, data_dir=data_dir_for(data_dir), try_gcs=False)
    except tfds.core.registered.DatasetNotFoundError:
        raise UnknownNameError(
            f"TFDS has no dataset {name!r}." + close_matches_hint(name, tfds.list_builders())
        ) from None


def is_prepared(name: str, data_dir=None) -> bool:
    """True when TFDS already holds ``name`` in the data dir (no network involved)."""
    base = Path(data_dir_for(data_dir)) / name
    if not base.is_dir():  # cheap check first: building a builder imports a lot
        return False
    try:
        return bool(_builder(name, data_dir).is_prepared())
    except Exception:  # a half-written or foreign directory is simply "not prepared"
        return False


def prepared_datasets(data_dir=None) -> list[str]:
    """Names of the datasets in the TFDS data dir (directories that hold a dataset_info.json)."""
    root = Path(data_dir_for(data_dir))
    if not root.is_dir():
        return []
    return sorted(
        d.name for d in root.iterdir()
        if d.is_dir() and (any(d.glob("*/dataset_info.json")) or any(d.glob("*/*/dataset_info.json")))
    )


def prepared_sizes(name: str, data_dir=None) -> dict[str, int]:
    try:
        info = _builder(name, data_dir).info
        return {SPLIT_NAMES.get(k, k): int(v.num_examples) for k, v in info.splits.items()}
    except Exception:
        return {}


def _image_and_label_keys(info, name: str) -> tuple[str, str]:
    import tensorflow_datasets as tfds

    keys = info.supervised_keys
    if keys and len(keys) == 2 and all(isinstance(k, str) for k in keys):
        image_key, label_key = keys
    else:
        image_key, label_key = "image", "label"
    features = info.features
    ok = (
        image_key in features and label_key in features
        and isinstance(features[image_key], tfds.features.Image)
        and isinstance(features[label_key], tfds.features.ClassLabel)
    )
    if not ok:
        raise DataError(
            f"TFDS dataset {name!r} is not an image-classification dataset (need an image feature and a "
            f"class label; it has {', '.join(features.keys())})."
        )
    return image_key, label_key


def load_tfds(name: str, *, data_dir=None, download=False, val_fraction=0.1, seed=0, limit=None) -> Dataset:
    import tensorflow as tf
    import tensorflow_datasets as tfds

    from zoo.data.splits import stream_splits

    builder = _builder(name, data_dir)
    if download:
        try:
            builder.download_and_prepare()
        except ModuleNotFoundError as exc:  # a package TFDS needs for this dataset, not the network
            raise DataError(
                f"Preparing TFDS dataset {name!r} needs the Python package {exc.name!r}, which is not installed: "
                f"pip install {exc.name}") from None
        except Exception as exc:
            raise DataError(
                f"Downloading TFDS dataset {name!r} failed ({type(exc).__name__}: "
                f"{str(exc).splitlines()[0][:200] if str(exc) else ''}). Check the network, or prepare it "
                f"elsewhere and copy it to {data_dir_for(data_dir)}."
            ) from None
    elif not builder.is_prepared():
        raise DataError(
            f"TFDS dataset {name!r} is not in {data_dir_for(data_dir)}. Download it with --download "
            f"(or `zoo data download tfds:{name}`), or pass --data-dir where it is prepared."
        )
    info = builder.info
    image_key, label_key = _image_and_label_keys(info, name)
    image_feature = info.features[image_key]
    class_names = list(info.features[label_key].names)
    shape = tuple(image_feature.shape)
    image_shape = tuple(int(d) for d in shape) if all(d is not None for d in shape) else None
    channels = shape[-1] if shape[-1] is not None else 3

    available = list(info.splits.keys()) or ["train", "test"]  # mocked info knows no splits
    streams, counts = {}, {}
    for tfds_split in available:
        ours = SPLIT_NAMES.get(tfds_split)
        if ours is None or ours in streams:
            continue
        ds = builder.as_dataset(split=tfds_split, shuffle_files=False, read_config=tfds.ReadConfig(
            shuffle_seed=seed, add_tfds_id=False))
        ds = ds.map(
            lambda ex: (tf.cast(ex[image_key], tf.uint8), tf.cast(ex[label_key], tf.int64)),
            num_parallel_calls=tf.data.AUTOTUNE,
        )
        streams[ours] = ds
        counts[ours] = _count(ds, info, tfds_split)
    if "train" not in streams:
        raise DataError(f"TFDS dataset {name!r} has no train split (it has {', '.join(available)}).")
    datasets, sizes = stream_splits(
        streams, counts, val_fraction=val_fraction, seed=seed, limit=limit,
        nbytes_per_example=None if image_shape is None else image_shape[0] * image_shape[1] * channels,
        image_shape=image_shape,
    )
    return Dataset.from_splits(
        datasets,
        name=f"tfds:{name}",
        class_names=class_names,
        image_shape=image_shape,
        sizes=sizes,
        source=f"TFDS {builder.info.full_name} in {data_dir_for(data_dir)}",
    )


def _count(ds, info, split: str) -> int:
    import tensorflow as tf

    try:
        n = int(info.splits[split].num_examples)
        if n > 0:
            return n
    except (KeyError, AttributeError):
        pass
    n = int(ds.cardinality())
    if n >= 0:
        return n
    return int(ds.reduce(tf.constant(0, tf.int64), lambda c, _: c + 1))  # unknown: count once


def prepare(name: str, data_dir=None) -> str:
    """Download and prepare the TFDS dataset ``name`` unless it is already; returns where it is."""
    builder = _builder(name, data_dir)
    if not builder.is_prepared():
        load_tfds(name, data_dir=data_dir, download=True, val_fraction=0)
    return str(builder.data_dir)


def prepared_rows(data_dir=None) -> list[dict]:
    """`zoo datasets` rows of the TFDS datasets prepared on this machine."""
    return [{"name": f"tfds:{name}", "title": name, "classes": None, "found": True,
             "where": f"TFDS data dir ({data_dir_for(data_dir)})", "sizes": prepared_sizes(name, data_dir)}
            for name in prepared_datasets(data_dir)]


def _load(name, *, data_dir=None, download=False, on_bad_image="fail", **split_args) -> Dataset:
    return load_tfds(name, data_dir=data_dir, download=download, **split_args)


register(Source(
    usage="tfds:NAME", prefix="tfds", load=_load, order=20, rows=prepared_rows, download=prepare,
    template={"name": "tfds:NAME", "title": "any TFDS image classification dataset", "classes": None,
              "found": None, "where": "prepared TFDS data, or --download", "sizes": {}},
))

"""``tfds:NAME``: any TFDS image-classification dataset, read from the TFDS data dir.

Nothing is downloaded unless ``download=True``; a dataset that is not prepared is a DataError
that says how to get it. A download first checks that the hosts TFDS would contact answer
(a few seconds at most), then runs TFDS in a child process, so that Ctrl-C or SIGTERM stop it at
once and its partial files are removed.
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
        with _quiet_logs():
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
        return _is_prepared(_builder(name, data_dir))
    except Exception:  # a half-written or foreign directory is simply "not prepared"
        return False


def _is_prepared(builder) -> bool:
    with _quiet_logs():  # TFDS warns of a folder without dataset_info.json: that is just "not prepared"
        return bool(builder.is_prepared())


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


TFDS_BUCKET = "https://storage.googleapis.com/tfds-data"  # what TFDS contacts when a builder names no URL


def download_urls(builder) -> list[str]:
    """The URLs TFDS would download for ``builder`` (from its checksums file), else TFDS's bucket."""
    try:
        urls = list(builder.url_infos or ())
    except Exception:  # a builder without a checksums file
        urls = []
    return urls or [TFDS_BUCKET]


def _mocked(builder) -> bool:
    """True under ``tfds.testing.mock_data``: nothing is downloaded, so nothing to check or isolate."""
    method = getattr(type(builder), "download_and_prepare", None)
    return getattr(method, "__module__", "").startswith("tensorflow_datasets.testing")


def _offline_alternative(name: str) -> str:
    from zoo.data.sources import SOURCES

    if any(name in s.tfds_names for s in SOURCES):  # mnist, fashion_mnist: the IDX files will do
        files = "the four IDX files (train-images-idx3-ubyte.gz ...)"
    else:
        files = "the prepared TFDS dataset"
    return f"Offline, pass --data-dir with {files}, or use a folder:PATH or npz:PATH dataset."


def check_reachable(builder, name: str, timeout: float | None = None) -> None:
    """Raise a DataError naming the host(s) when TFDS could not download ``name`` (about 3 s at most)."""
    from zoo.data import sources

    bad = sources.unreachable_hosts(download_urls(builder),
                                    timeout=sources.REACH_TIMEOUT_S if timeout is None else timeout)
    if bad:
        hosts = "; ".join(f"{host} ({why})" for host, why in bad.items())  # host (no DNS answer: ...)
        raise DataError(f"Cannot download TFDS dataset {name!r}: could not reach {hosts}. "
                        + _offline_alternative(name))


def download_and_prepare(builder, name: str, data_dir=None) -> None:
    """Download and prepare ``name`` unless it is prepared: fail fast offline, stop at once on Ctrl-C.

    The download runs in a child process (TFDS retries in threads that ignore Ctrl-C); Ctrl-C or
    SIGTERM kill it and remove the files it had started (the dataset's incomplete folder, new files
    in ``downloads/``), then raise KeyboardInterrupt.
    """
    if _is_prepared(builder):
        return
    if _mocked(builder):
        builder.download_and_prepare()
        return
    check_reachable(builder, name)
    import json
    import tempfile

    root = Path(data_dir_for(data_dir))
    before = _snapshot(root, name)  # what was there: only what the download adds is removed on failure
    with tempfile.TemporaryDirectory(prefix="zoo-tfds-") as tmp:
        result = Path(tmp) / "result.json"
        try:
            code = _run_interruptible(_child_command(name, str(root), str(result)))
        except KeyboardInterrupt as stop:
            _remove_new(root, name, before)
            why = f" ({stop.args[0]})" if stop.args else ""
            raise KeyboardInterrupt(f"the download of TFDS dataset {name!r} was stopped{why} and its "
                                    f"partial files in {root} were removed.") from None
        failure = json.loads(result.read_text()) if result.is_file() else None
    if code == 0 and failure is None:
        return
    _remove_new(root, name, before)
    failure = failure or {"type": f"exit status {code}", "message": ""}
    if failure.get("module"):  # a package TFDS needs for this dataset, not the network
        raise DataError(f"Preparing TFDS dataset {name!r} needs the Python package {failure['module']!r}, which "
                        f"is not installed: pip install {failure['module']}")
    raise DataError(
        f"Downloading TFDS dataset {name!r} failed ({failure['type']}: {failure['message'][:200]}). Check the "
        f"network, or prepare it elsewhere and copy it to {root}."
    )


def _child_command(name: str, data_dir: str, result: str) -> list[str]:
    import sys

    return [sys.executable, "-c", "import sys; from zoo.data.tfds_source import _child_main; "
            "sys.exit(_child_main(*sys.argv[1:]))", name, data_dir, result]


def _child_main(name: str, data_dir: str, result: str) -> int:
    """In the child: TFDS's download_and_prepare; a failure goes to ``result`` as JSON."""
    import json

    try:
        if not os.environ.get("ZOO_DEBUG"):
            _import_tensorflow_quietly()
        with _quiet_logs():
            _builder(name, data_dir).download_and_prepare()
        return 0
    except BaseException as exc:  # noqa: BLE001 - everything goes back to the parent as one record
        text = str(exc).strip()
        Path(result).write_text(json.dumps({
            "type": type(exc).__name__, "message": text.splitlines()[0] if text else "",
            "module": exc.name if isinstance(exc, ModuleNotFoundError) else None}))
        return 1


def _import_tensorflow_quietly() -> None:
    """TensorFlow prints its start-up notices straight to file descriptor 2, before any log level applies."""
    import sys

    sys.stderr.flush()
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        import tensorflow  # noqa: F401
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def _run_interruptible(cmd: list[str]) -> int:
    """Run ``cmd`` in its own process group and wait; Ctrl-C or SIGTERM kill the group at once."""
    import signal
    import subprocess
    import threading

    env = {"TF_CPP_MIN_LOG_LEVEL": "3", "NO_GCE_CHECK": "true", **os.environ}  # no GCE metadata look-up
    main = threading.current_thread() is threading.main_thread()

    def on_term(signum, frame):
        raise KeyboardInterrupt("SIGTERM")

    old = signal.signal(signal.SIGTERM, on_term) if main else None
    old = signal.SIG_DFL if old is None else old
    try:
        proc = subprocess.Popen(cmd, env=env, start_new_session=True)  # Ctrl-C reaches us, not the child
        try:
            return proc.wait()
        except BaseException:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except OSError:
                pass
            proc.wait()
            raise
    finally:
        if main:
            signal.signal(signal.SIGTERM, old)


def _snapshot(root: Path, name: str) -> set[str]:
    """What exists where a TFDS download of ``name`` writes: the data dir, downloads/, the dataset's folder."""
    found = {str(p) for p in (root, root / "downloads", root / name) if p.exists()}
    return found | _entries(root / "downloads", 2) | _entries(root / name, 3)


def _entries(base: Path, depth: int) -> set[str]:
    if depth == 0 or not base.is_dir():
        return set()
    found = set()
    try:
        children = list(base.iterdir())
    except OSError:
        return found
    for child in children:
        found.add(str(child))
        if child.is_dir() and not child.is_symlink():
            found |= _entries(child, depth - 1)
    return found


def _remove_new(root: Path, name: str, before: set[str]) -> None:
    """Remove what appeared since ``before`` (outermost first), and the data dir if we created it."""
    import shutil

    removed: list[str] = []
    for path in sorted(_snapshot(root, name) - before - {str(root)}, key=len):  # the dir itself: below
        if any(path.startswith(r + os.sep) for r in removed):
            continue
        p = Path(path)
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p, ignore_errors=True)
        else:
            p.unlink(missing_ok=True)
        removed.append(path)
    if str(root) not in before:  # the data dir itself, when this download created it (and it is empty)
        try:
            root.rmdir()
        except OSError:
            pass


def _quiet_logs():
    """Silence TFDS's absl warnings and urllib3's retry warnings (ZOO_DEBUG keeps them)."""
    import contextlib
    import logging

    stack = contextlib.ExitStack()
    if not os.environ.get("ZOO_DEBUG"):
        for logger in (logging.getLogger("absl"), logging.getLogger("urllib3")):
            stack.callback(logger.setLevel, logger.level)
            logger.setLevel(logging.ERROR)
    return stack


def load_tfds(name: str, *, data_dir=None, download=False, val_fraction=0.1, seed=0, limit=None) -> Dataset:
    builder = _builder(name, data_dir)
    if download:
        download_and_prepare(builder, name, data_dir)
    elif not _is_prepared(builder):
        raise DataError(
            f"TFDS dataset {name!r} is not in {data_dir_for(data_dir)}. Download it with --download "
            f"(or `zoo data download tfds:{name}`), or pass --data-dir where it is prepared."
        )
    import tensorflow as tf  # only now: a dataset that cannot be had fails without TensorFlow's start-up
    import tensorflow_datasets as tfds

    from zoo.data.splits import stream_splits

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
    if not _is_prepared(builder):
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

"""zoo.data: IDX sources, splits, pipelines, statistics."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from kit import SYSTEM_FASHION_MNIST, dataset_of, pixels, write_idx_files

from zoo.data import (
    FASHION_MNIST_CLASSES,
    channel_stats,
    load_dataset,
    load_examples,
    make_pipeline,
)
from zoo.data import idx_source
from zoo.data.idx import write_idx
from zoo.errors import DataError, InvalidArgumentError, UnknownNameError

FASHION_DIR = SYSTEM_FASHION_MNIST  # the Debian package's copy: these tests check its exact sizes and path
needs_fashion = pytest.mark.skipif(not FASHION_DIR.is_dir(), reason="dataset-fashion-mnist not installed")


def _labels_of(ds) -> np.ndarray:
    return np.concatenate([y.numpy() for _, y in ds.batch(4096)])


def _images_of(ds) -> np.ndarray:
    return np.concatenate([x.numpy() for x, _ in ds.batch(4096)])


def _fake_idx_dir(tmp_path, n_train=50, n_test=20, gz=True) -> Path:
    rng = np.random.default_rng(1)
    train = rng.integers(0, 256, (n_train, 28, 28)), np.arange(n_train) % 10
    test = rng.integers(0, 256, (n_test, 28, 28)), np.arange(n_test) % 10
    return write_idx_files(tmp_path / "fashion-mnist", train, test, gz=gz)


@pytest.fixture
def no_system_copies(monkeypatch, tmp_path):
    """Hide the Debian/Keras copies and the TFDS data dir, so only data_dir counts."""
    fam = idx_source.IDX_FAMILIES["fashion_mnist"]
    monkeypatch.setitem(idx_source.IDX_FAMILIES, "fashion_mnist",
                        idx_source.IdxFamily(**{**fam.__dict__, "system_dirs": ()}))
    monkeypatch.delenv("ZOO_DATA_DIR", raising=False)
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path / "no-tfds"))


@needs_fashion
def test_fashion_mnist_real_files():
    data = load_dataset("fashion_mnist", val_fraction=0.1, seed=0)
    assert data.class_names == FASHION_MNIST_CLASSES and data.num_classes == 10
    assert data.image_shape == (28, 28, 1)
    assert data.sizes == {"train": 54_000, "val": 6_000, "test": 10_000}
    assert data.source == str(FASHION_DIR)
    x, y = next(iter(data.test.batch(10_000)))
    assert x.dtype == tf.uint8 and y.dtype == tf.int64 and x.shape == (10_000, 28, 28, 1)
    assert np.bincount(y.numpy()).tolist() == [1000] * 10  # the test set is balanced
    assert int(tf.reduce_max(x)) == 255


def test_idx_plain_and_gzip_agree(tmp_path, no_system_copies):
    (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir()
    da = _fake_idx_dir(tmp_path / "a", gz=True)
    db = _fake_idx_dir(tmp_path / "b", gz=False)
    a = load_dataset("fashion_mnist", data_dir=da, val_fraction=0)
    b = load_dataset("fashion_mnist", data_dir=db.parent, val_fraction=0)  # finds the fashion-mnist subdir
    assert a.sizes == b.sizes == {"train": 50, "test": 20}
    np.testing.assert_array_equal(_images_of(a.train), _images_of(b.train))
    np.testing.assert_array_equal(_labels_of(a.test), np.arange(20) % 10)


def test_corrupt_idx_bad_magic(tmp_path, no_system_copies):
    d = _fake_idx_dir(tmp_path)
    bad = d / "train-labels-idx1-ubyte.gz"
    with gzip.open(bad, "wb") as fh:
        fh.write(b"\x00\x00\x09\x01" + np.array([50], ">i4").tobytes() + bytes(50))
    with pytest.raises(DataError, match="train-labels-idx1-ubyte.gz.*bad magic"):
        load_dataset("fashion_mnist", data_dir=d)


def test_truncated_idx(tmp_path, no_system_copies):
    d = _fake_idx_dir(tmp_path, gz=False)
    path = d / "t10k-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(DataError, match=r"t10k-images-idx3-ubyte is truncated"):
        load_dataset("fashion_mnist", data_dir=d)


def test_truncated_gzip_names_file(tmp_path, no_system_copies):
    d = _fake_idx_dir(tmp_path)
    path = d / "train-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(DataError, match="train-images-idx3-ubyte.gz"):
        load_dataset("fashion_mnist", data_dir=d)


def test_label_count_mismatch(tmp_path, no_system_copies):
    d = _fake_idx_dir(tmp_path)
    write_idx(d / "train-labels-idx1-ubyte.gz", np.arange(49) % 10)
    with pytest.raises(DataError, match="50 images but .* 49 labels"):
        load_dataset("fashion_mnist", data_dir=d)


def test_missing_files_say_both_ways(tmp_path, no_system_copies):
    d = _fake_idx_dir(tmp_path)
    (d / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DataError) as err:
        load_dataset("fashion_mnist", data_dir=d)
    msg = str(err.value)
    assert "t10k-labels-idx1-ubyte.gz" in msg and str(d) in msg
    assert "apt-get install dataset-fashion-mnist" in msg and "--download" in msg


def test_unknown_dataset_suggests():
    with pytest.raises(UnknownNameError, match="fashion_mnist"):
        load_dataset("fashion_mnst")


@needs_fashion
def test_val_split_reproducible_disjoint_and_limit():
    a = load_dataset("fashion_mnist", val_fraction=0.2, seed=3, limit=None)
    b = load_dataset("fashion_mnist", val_fraction=0.2, seed=3, limit=500)
    c = load_dataset("fashion_mnist", val_fraction=0.2, seed=4, limit=500)
    assert a.sizes["val"] == 12_000 and a.sizes["train"] == 48_000
    assert b.sizes == {"train": 500, "val": 500, "test": 500}
    val_a = _images_of(a.val).reshape(12_000, -1)
    val_b = _images_of(b.val).reshape(500, -1)
    np.testing.assert_array_equal(val_a[:500], val_b)  # limit keeps the same carve
    assert not np.array_equal(val_b, _images_of(c.val).reshape(500, -1))  # the seed matters
    # disjoint: no val image occurs in train (Fashion-MNIST has no exact duplicates across these)
    train_rows = {r.tobytes() for r in _images_of(a.train.take(48_000)).reshape(48_000, -1)}
    assert not any(r.tobytes() in train_rows for r in val_a[:2000])


def test_split_arguments_are_checked():
    with pytest.raises(InvalidArgumentError, match="val_fraction"):
        load_dataset("fashion_mnist", val_fraction=1.0)
    with pytest.raises(InvalidArgumentError, match="limit"):
        load_dataset("fashion_mnist", limit=0)


def _tiny_split(n=10, h=6, w=5, c=1):
    x = np.arange(n * h * w * c, dtype=np.int64).reshape(n, h, w, c) % 256
    return dataset_of(x.astype(np.uint8))  # labels 0..n-1


def test_pipeline_gray_to_rgb_and_resize():
    ds = _tiny_split(c=1)
    x, y = next(iter(make_pipeline(ds, input_shape=(12, 10, 3), batch_size=4, training=False)))
    assert x.shape == (4, 12, 10, 3) and x.dtype == tf.float32 and y.dtype == tf.int64
    np.testing.assert_array_equal(y.numpy(), [0, 1, 2, 3])  # eval order is the source order
    np.testing.assert_allclose(x[..., 0], x[..., 2])
    assert 0 <= float(tf.reduce_min(x)) and float(tf.reduce_max(x)) <= 255


def test_pipeline_rgb_to_gray_same_size():
    ds = _tiny_split(c=3)
    src = next(iter(ds.batch(10)))[0].numpy().astype(np.float32)
    x, _ = next(iter(make_pipeline(ds, input_shape=(6, 5, 1), batch_size=10, training=False)))
    expected = src @ np.array([0.2989, 0.5870, 0.1140], np.float32)
    np.testing.assert_allclose(x.numpy()[..., 0], expected, atol=0.05)


def test_pipeline_training_shuffles_with_seed():
    ds = _tiny_split(n=64)
    order = lambda seed: np.concatenate([y.numpy() for _, y in make_pipeline(
        ds, input_shape=(6, 5, 1), batch_size=16, training=True, seed=seed)])
    a, b, c = order(0), order(0), order(1)
    assert sorted(a) == list(range(64))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    p = make_pipeline(ds, input_shape=(6, 5, 1), batch_size=64, training=True, seed=0)
    e1, e2 = (next(iter(p))[1].numpy() for _ in range(2))
    assert not np.array_equal(e1, e2)  # reshuffled every epoch


def test_in_memory_pipeline_keeps_images_with_labels(tmp_path, no_system_copies):
    d = _fake_idx_dir(tmp_path, n_train=50, n_test=20)
    data = load_dataset("fashion_mnist", data_dir=d, val_fraction=0.2, seed=1)
    x_ref, y_ref = _images_of(data.train).astype(np.float32), _labels_of(data.train)
    x, y = next(iter(make_pipeline(data.train, input_shape=(28, 28, 1), batch_size=64, training=False)))
    np.testing.assert_array_equal(x.numpy(), x_ref)  # evaluation: source order, unchanged
    np.testing.assert_array_equal(y.numpy(), y_ref)
    pipe = make_pipeline(data.train, input_shape=(28, 28, 1), batch_size=16, training=True, seed=2)
    x, y = (np.concatenate(parts) for parts in zip(*[(a.numpy(), b.numpy()) for a, b in pipe]))
    order = [int(np.flatnonzero((x_ref == xi).all(axis=(1, 2, 3)))[0]) for xi in x]
    assert sorted(order) == list(range(40)) and order != list(range(40))  # a permutation
    np.testing.assert_array_equal(y, y_ref[order])  # each label travels with its image
    mean, var = channel_stats(data.train, (28, 28, 3))  # grey copied to RGB: three equal channels
    np.testing.assert_allclose(mean, [(x_ref / 255).mean()] * 3, rtol=1e-5)
    np.testing.assert_allclose(var, [(x_ref / 255).var()] * 3, rtol=1e-4)


def test_pipeline_rejects_whole_dataset():
    data = load_dataset("fashion_mnist", limit=10)
    with pytest.raises(InvalidArgumentError, match="data.train"):
        make_pipeline(data, input_shape=(28, 28, 1), batch_size=4, training=True)


def test_channel_stats_matches_numpy():
    x = pixels(300, (8, 8, 3), whole=True, dtype=np.uint8)
    ds = dataset_of(x, np.zeros(300, np.int64))
    mean, var = channel_stats(ds, (8, 8, 3))
    np.testing.assert_allclose(mean, (x / 255.0).mean(axis=(0, 1, 2)), rtol=1e-5)
    np.testing.assert_allclose(var, (x / 255.0).var(axis=(0, 1, 2)), rtol=1e-4)
    mean1, _ = channel_stats(ds, (8, 8, 1), max_examples=100)
    gray = (x[:100].astype(np.float32) @ np.array([0.2989, 0.5870, 0.1140], np.float32)) / 255.0
    np.testing.assert_allclose(mean1, [gray.mean()], rtol=1e-3)


@needs_fashion
def test_load_examples_first_n_of_test():
    images, labels, names = load_examples("fashion_mnist", n=5)
    assert images.shape == (5, 28, 28, 1) and images.dtype == np.float32
    assert labels.tolist() == [9, 2, 1, 1, 6]  # the first five test labels of Fashion-MNIST
    assert names == FASHION_MNIST_CLASSES
    big, _, _ = load_examples("fashion_mnist", n=2, input_shape=(32, 32, 3))
    assert big.shape == (2, 32, 32, 3)
    with pytest.raises(DataError, match="no 'val' split"):
        load_dataset("fashion_mnist", val_fraction=0, limit=2).split("val")


def test_cache_split_caches_only_what_fits(monkeypatch):
    from zoo.data import cache_split, pipeline
    from zoo.data.dataset import split_info

    ds = _tiny_split(n=10)  # 10 images of 6x5x1 bytes = 300 bytes decoded
    monkeypatch.setattr(pipeline, "CACHE_BUDGET_BYTES", 1000)
    cached = cache_split(ds)
    assert cached is not ds and split_info(cached)["in_memory"] and split_info(cached)["size"] == 10
    assert cache_split(cached) is cached  # already held: not cached twice
    monkeypatch.setattr(pipeline, "CACHE_BUDGET_BYTES", 100)
    assert cache_split(ds) is ds  # too large: stays streamed (bounded memory)
    # both still feed a training pipeline with every example once per epoch
    for split in (cached, ds):
        labels = np.concatenate([y.numpy() for _, y in make_pipeline(
            split, input_shape=(6, 5, 1), batch_size=4, training=True, cache=False)])
        assert sorted(labels) == list(range(10))

"""zoo.data sources beyond IDX: image folders, TFDS (mocked), npz."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
from kit import write_images

from zoo.data import load_dataset, load_examples, make_pipeline
from zoo.errors import DataError, InvalidArgumentError, UnknownNameError


def _labels(ds) -> list[int]:
    return [int(y) for _, y in ds]


def test_folder_classes_splits_and_pipeline(tmp_path):
    write_images(tmp_path / "cats", 6, value=10)
    write_images(tmp_path / "dogs", 4, value=200)
    data = load_dataset(f"folder:{tmp_path}", val_fraction=0.2, seed=0)
    assert data.class_names == ["cats", "dogs"] and data.image_shape == (10, 12, 3)
    assert data.sizes == {"train": 8, "val": 2}
    assert data.test is None
    assert sorted(_labels(data.train) + _labels(data.val)) == [0] * 6 + [1] * 4
    x, y = next(iter(data.train))
    assert x.dtype == tf.uint8 and x.shape == (10, 12, 3) and y.dtype == tf.int64
    batches = list(make_pipeline(data.train, input_shape=(8, 8, 1), batch_size=8, training=True))
    assert batches[0][0].shape == (8, 8, 8, 1)
    # cats are dark, dogs bright: the label travels with its image
    for img, label in zip(batches[0][0].numpy(), batches[0][1].numpy()):
        assert (img.mean() < 100) == (label == 0)


def test_folder_train_test_subfolders_and_varying_sizes(tmp_path):
    write_images(tmp_path / "train" / "a", 3, size=(8, 8), mode="L")
    write_images(tmp_path / "train" / "b", 3, size=(9, 7), mode="L")
    write_images(tmp_path / "test" / "a", 2, size=(8, 8), mode="L")
    write_images(tmp_path / "test" / "b", 1, size=(8, 8), mode="L")
    data = load_dataset(str(tmp_path), val_fraction=0)  # a bare directory is a folder spec
    assert data.sizes == {"train": 6, "test": 3}
    assert data.image_shape is None  # sizes vary
    x, _ = next(iter(make_pipeline(data.train, input_shape=(5, 5, 3), batch_size=6, training=False)))
    assert x.shape == (6, 5, 5, 3)
    images, labels, names = load_examples(f"folder:{tmp_path}", n=3, input_shape=(4, 4, 1))
    assert images.shape == (3, 4, 4, 1) and sorted(labels.tolist()) == [0, 0, 1] and names == ["a", "b"]


def test_folder_corrupt_image_fail_names_it_and_skip_skips(tmp_path):
    write_images(tmp_path / "a", 3)
    write_images(tmp_path / "b", 3)
    (tmp_path / "b" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    with pytest.raises(DataError, match=r"broken\.png"):
        load_dataset(f"folder:{tmp_path}")
    with pytest.warns(UserWarning, match=r"broken\.png"):
        data = load_dataset(f"folder:{tmp_path}", on_bad_image="skip", val_fraction=0)
    assert data.sizes == {"train": 6}
    assert len(list(data.train)) == 6
    with pytest.raises(InvalidArgumentError, match="on_bad_image"):
        load_dataset(f"folder:{tmp_path}", on_bad_image="ignore")


def test_folder_empty_and_single_class(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no class subfolders"):
        load_dataset(f"folder:{tmp_path / 'empty'}")
    write_images(tmp_path / "one" / "only", 2)
    with pytest.raises(DataError, match="single class"):
        load_dataset(f"folder:{tmp_path / 'one'}")
    (tmp_path / "noimg" / "a").mkdir(parents=True)
    (tmp_path / "noimg" / "b").mkdir()
    with pytest.raises(DataError, match="no images"):
        load_dataset(f"folder:{tmp_path / 'noimg'}")
    with pytest.raises(DataError, match="does not exist"):
        load_dataset(f"folder:{tmp_path / 'missing'}")


def test_folder_refuses_an_empty_class_and_lists_a_symlink_loop_once(tmp_path):
    write_images(tmp_path / "empty-class" / "a", 3)
    (tmp_path / "empty-class" / "b").mkdir()
    with pytest.raises(DataError, match=r"class folder\(s\) b .* hold no images"):
        load_dataset(f"folder:{tmp_path / 'empty-class'}")
    write_images(tmp_path / "loop" / "a", 5)
    write_images(tmp_path / "loop" / "b", 5, value=100)
    (tmp_path / "loop" / "a" / "again").symlink_to(tmp_path / "loop" / "a")  # a folder linking to itself
    (tmp_path / "loop" / "b" / "copy.png").symlink_to(tmp_path / "loop" / "b" / "img00.png")  # a file twice
    data = load_dataset(f"folder:{tmp_path / 'loop'}", val_fraction=0.2, seed=0)
    assert data.sizes["train"] + data.sizes["val"] == 10  # 10 images, not the loop's hundreds


def test_tfds_mock_data(tmp_path):
    tfds = pytest.importorskip("tensorflow_datasets")
    with tfds.testing.mock_data(num_examples=12):
        data = load_dataset("tfds:cifar10", download=True, val_fraction=0.25, seed=0, data_dir=tmp_path)
        assert data.name == "tfds:cifar10" and data.num_classes == 10
        assert data.image_shape == (32, 32, 3)
        assert data.sizes == {"train": 9, "val": 3, "test": 12}  # counted: mock info has no sizes
        x, y = next(iter(make_pipeline(data.train, input_shape=(28, 28, 1), batch_size=9, training=True)))
        assert x.shape == (9, 28, 28, 1) and y.dtype == tf.int64
        assert len(list(data.val)) == 3
    with pytest.raises(DataError, match="--download"):
        load_dataset("tfds:cifar10", data_dir=tmp_path / "empty")
    with pytest.raises(UnknownNameError, match="cifar10"):
        load_dataset("tfds:cifar1O", data_dir=tmp_path)


def test_fashion_mnist_falls_back_to_tfds_download(tmp_path, monkeypatch):
    tfds = pytest.importorskip("tensorflow_datasets")
    from zoo.data import idx_source

    fam = idx_source.IDX_FAMILIES["fashion_mnist"]
    monkeypatch.setitem(idx_source.IDX_FAMILIES, "fashion_mnist",
                        idx_source.IdxFamily(**{**fam.__dict__, "system_dirs": ()}))
    monkeypatch.delenv("ZOO_DATA_DIR", raising=False)
    with pytest.raises(DataError, match="apt-get install dataset-fashion-mnist"):
        load_dataset("fashion_mnist", data_dir=tmp_path)
    with tfds.testing.mock_data(num_examples=6):
        data = load_dataset("fashion_mnist", data_dir=tmp_path, download=True, val_fraction=0)
    assert data.name == "fashion_mnist" and data.class_names[0] == "T-shirt/top"
    assert data.image_shape == (28, 28, 1) and data.sizes == {"train": 6, "test": 6}
    assert "TFDS" in data.source


def test_npz_layouts_and_errors(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.random((20, 6, 6)).astype(np.float32)  # floats in [0, 1]
    np.savez(tmp_path / "a.npz", x=x, y=np.arange(20) % 4, class_names=np.array(["w", "x", "y", "z"]))
    data = load_dataset(f"npz:{tmp_path / 'a.npz'}", val_fraction=0.25)
    assert data.class_names == ["w", "x", "y", "z"] and data.image_shape == (6, 6, 1)
    assert data.sizes == {"train": 15, "val": 5}
    first = np.concatenate([im.numpy() for im, _ in data.train.batch(20)] + [im.numpy() for im, _ in data.val.batch(20)])
    assert first.dtype == np.uint8
    assert sorted(first.reshape(20, -1)[:, 0].tolist()) == sorted(np.round(x[:, 0, 0] * 255).astype(int).tolist())

    np.savez(tmp_path / "keras.npz", x_train=np.zeros((8, 4, 4, 3), np.uint8), y_train=np.arange(8) % 2,
             x_test=np.zeros((3, 4, 4, 3), np.uint8), y_test=np.arange(3) % 2)
    assert load_dataset(f"npz:{tmp_path / 'keras.npz'}", val_fraction=0).sizes == {"train": 8, "test": 3}

    np.savez(tmp_path / "nokey.npz", images=x, y=np.arange(20))
    with pytest.raises(DataError, match="'x' and 'y'.*images"):
        load_dataset(f"npz:{tmp_path / 'nokey.npz'}")
    np.savez(tmp_path / "mismatch.npz", x=x, y=np.arange(19))
    with pytest.raises(DataError, match="20 images but 'y' holds 19"):
        load_dataset(f"npz:{tmp_path / 'mismatch.npz'}")
    (tmp_path / "junk.npz").write_bytes(b"junk")
    with pytest.raises(DataError, match="junk.npz"):
        load_dataset(f"npz:{tmp_path / 'junk.npz'}")

"""zoo.data augmentation: names, presets, range, seeding, and its place in make_pipeline."""

from __future__ import annotations

import numpy as np
import pytest
from kit import dataset_of, pixels

from zoo.data import augmentation_names, build_augmentation, make_pipeline, parse_augmentation
from zoo.errors import InvalidArgumentError, UnknownNameError


def _images(n=16, h=24, w=24, c=3, seed=0) -> np.ndarray:
    x = pixels(n, (h, w, c), seed=seed, whole=True, dtype=np.uint8)
    x[:, 6:18, 4:12] = 255  # an off-centre block, so flips and shifts show
    return x


def _split(x):
    return dataset_of(x)  # labels 0..N-1: where each image went


def test_names_and_presets():
    names = augmentation_names()
    assert names["presets"] == ["none", "light", "standard", "strong"]
    for required in ("flip", "crop", "color", "shear", "zoom", "translate", "rotate", "erase"):
        assert required in names["augmentations"]
    assert [n for n, _ in parse_augmentation("light")] == ["flip", "crop"]
    assert {n for n, _ in parse_augmentation("strong")} >= {"color", "shear", "erase", "rotate", "zoom"}
    assert parse_augmentation("flip,rotate=0.1,translate=0.15") == [
        ("flip", "horizontal"), ("rotate", 0.1), ("translate", 0.15)]
    assert parse_augmentation("none") == [] and build_augmentation("none", 3, 0) is None
    assert parse_augmentation("flip,crop:4") == [("flip", "horizontal"), ("crop", 4)]  # pixels


def test_bad_specs():
    with pytest.raises(UnknownNameError, match="rotate"):
        parse_augmentation("flip,rotat=0.1")
    with pytest.raises(InvalidArgumentError, match="number"):
        parse_augmentation("rotate=lots")
    with pytest.raises(InvalidArgumentError, match=r"\(0, 1\]"):
        parse_augmentation("zoom=3")
    with pytest.raises(InvalidArgumentError, match="flip"):
        build_augmentation("flip=diagonal", 3, 0)


@pytest.mark.parametrize("spec,channels", [("strong", 3), ("strong", 1), ("light", 1), ("color=1.0", 3)])
def test_augmentation_stays_in_range_and_changes_images(spec, channels):
    x = _images(c=channels).astype(np.float32)
    out = build_augmentation(spec, channels, seed=0)(x, training=True).numpy()
    assert out.shape == x.shape
    assert out.min() >= 0.0 and out.max() <= 255.0
    assert not np.allclose(out, x)


def test_flip_is_a_mirror():
    x = _images(n=64, c=1).astype(np.float32)
    out = build_augmentation("flip", 1, seed=0)(x, training=True).numpy()
    flipped = np.array([np.array_equal(o, xi[:, ::-1]) for o, xi in zip(out, x)])
    kept = np.array([np.array_equal(o, xi) for o, xi in zip(out, x)])
    assert np.all(flipped | kept) and 10 < flipped.sum() < 54  # each image mirrored or not, about half


def _epoch(augment, seed, x):
    p = make_pipeline(_split(x), input_shape=x.shape[1:], batch_size=8, training=True, augment=augment, seed=seed)
    batches = list(p)
    return np.concatenate([b[0].numpy() for b in batches]), np.concatenate([b[1].numpy() for b in batches])


def test_none_leaves_images_unchanged():
    x = _images()
    images, labels = _epoch("none", 0, x)
    np.testing.assert_array_equal(images, x[labels].astype(np.float32))


def test_pipeline_augmentation_is_seeded():
    x = _images(n=32)
    a_img, a_lab = _epoch("light,contrast", 5, x)
    b_img, b_lab = _epoch("light,contrast", 5, x)
    c_img, _ = _epoch("light,contrast", 6, x)
    np.testing.assert_array_equal(a_lab, b_lab)
    np.testing.assert_array_equal(a_img, b_img)
    assert not np.array_equal(a_img, c_img)
    assert a_img.min() >= 0 and a_img.max() <= 255
    assert not np.allclose(a_img, x[a_lab])


def test_eval_pipeline_never_augments():
    x = _images(n=8)
    p = make_pipeline(_split(x), input_shape=x.shape[1:], batch_size=8, training=False, augment="strong")
    np.testing.assert_array_equal(next(iter(p))[0].numpy(), x.astype(np.float32))


def _blob_batch(n=64, size=33, offset=(0, 10)):
    """A single bright pixel ``offset`` (dy, dx) from the centre of a dark image."""
    x = np.zeros((n, size, size, 1), np.float32)
    c = size // 2
    x[:, c + offset[0], c + offset[1]] = 255.0
    return x, c


def _centroids(images, c):
    ys, xs = np.mgrid[: images.shape[1], : images.shape[2]]
    mass = images[..., 0].sum(axis=(1, 2))
    return (images[..., 0] * ys).sum(axis=(1, 2)) / mass - c, (images[..., 0] * xs).sum(axis=(1, 2)) / mass - c


def test_random_affine_rotation_and_zoom_about_the_centre():
    from zoo.data.affine import RandomAffine

    x, c = _blob_batch()
    dy, dx = _centroids(RandomAffine(rotate=0.05, seed=0)(x).numpy(), c)
    angles, radius = np.degrees(np.arctan2(dy, dx)), np.hypot(dy, dx)
    assert np.all(np.abs(angles) <= 18.0 + 1.0) and np.ptp(angles) > 10  # +-0.05 turn, and it varies
    np.testing.assert_allclose(radius, 10.0, atol=0.3)
    dy, dx = _centroids(RandomAffine(zoom=0.2, seed=0)(x).numpy(), c)
    assert np.all(np.abs(dy) < 0.3) and np.all((dx > 10 * 0.8 - 0.3) & (dx < 10 * 1.2 + 0.3))


def test_random_affine_shifts_are_whole_pixels():
    from zoo.data.affine import RandomAffine

    x = _images(n=32, c=1).astype(np.float32)
    out = RandomAffine(crop=0.125, translate=0.1, seed=0)(x).numpy()
    assert np.array_equal(out, np.round(out))  # pixels copied, never interpolated
    x1, c = _blob_batch(size=33, offset=(0, 0))
    dy, dx = _centroids(RandomAffine(crop=0.125, seed=0)(x1).numpy(), c)
    assert np.all(np.abs(dx) <= 0.125 * 33 + 0.5) and np.all(np.abs(dy) <= 0.125 * 33 + 0.5)
    assert len(set(zip(dy.round(), dx.round()))) > 10  # shifts differ per image
    dy, dx = _centroids(RandomAffine(crop=2, seed=0)(x1).numpy(), c)  # whole pixels
    assert set(np.round(dx)) <= {-2, -1, 0, 1, 2} and len(set(np.round(dx))) == 5

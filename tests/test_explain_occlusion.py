"""Occlusion sensitivity (Zeiler & Fergus 2014): a known answer on a model built to look at one patch."""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")
from kit import linear_classifier, pixels  # noqa: E402

from zoo.errors import InvalidArgumentError, UnknownNameError  # noqa: E402
from zoo.explain import Explainer  # noqa: E402
from zoo.explain.methods.occlusion import _starts, occlusion_maps  # noqa: E402

ROWS, COLS = slice(2, 4), slice(5, 7)  # the only pixels the model reads for class 0


def one_patch_model():
    """Logit 0 = sum of a 2x2 patch / 255; logit 1 = 0: only that patch informs class 0."""
    w = np.zeros((10, 10, 2), "float32")
    w[ROWS, COLS, 0] = 1 / 255
    return linear_classifier((10, 10, 1), 2, kernel=w.reshape(100, 2))


def test_occluding_the_only_informative_patch_gives_the_peak_there():
    x = pixels(3, (10, 10, 1), low=50)
    ex = Explainer(one_patch_model(), occlusion={"patch": 2, "stride": 1}).explain("occlusion", x, [0, 0, 0])
    assert ex.heatmaps.shape == (3, 10, 10) and ex.attributions.shape == (3, 10, 10, 1)
    for heat, image in zip(ex.heatmaps, x):
        row, col = np.unravel_index(heat.argmax(), heat.shape)
        assert ROWS.start <= row < ROWS.stop and COLS.start <= col < COLS.stop
        far = np.ones_like(heat, bool)
        far[ROWS.start - 1:ROWS.stop + 1, COLS.start - 1:COLS.stop + 1] = False  # out of every covering patch
        assert (heat[far] == 0).all()
        np.testing.assert_allclose(heat, by_hand(image[..., 0], 2), rtol=1e-4, atol=1e-6)


def by_hand(image, patch):
    """The mean, over the patches (stride 1) covering each pixel, of the informative pixels they hide / 255."""
    informative = np.zeros_like(image, dtype="float64")
    informative[ROWS, COLS] = image[ROWS, COLS] / 255
    total, cover = np.zeros_like(informative), np.zeros_like(informative)
    for r in range(image.shape[0] - patch + 1):
        for c in range(image.shape[1] - patch + 1):
            total[r:r + patch, c:c + patch] += informative[r:r + patch, c:c + patch].sum()
            cover[r:r + patch, c:c + patch] += 1
    return total / cover


def test_the_class_the_patch_does_not_inform_has_an_empty_map():
    x = np.full((1, 10, 10, 1), 200.0, "float32")
    signed = occlusion_maps(one_patch_model(), x, [1], patch=3, stride=2)
    assert np.abs(signed).max() < 1e-6


def test_every_pixel_is_covered_and_settings_are_its_own():
    assert _starts(10, 3, 2) == [0, 2, 4, 6, 7] and _starts(6, 6, 2) == [0]
    ex = Explainer(one_patch_model(), steps=7).explain("occlusion", np.zeros((1, 10, 10, 1), "float32"), [0])
    assert ex.info == {"patch": 6, "stride": 2, "fill": "zero"}  # IG's steps do not reach it
    with pytest.raises(InvalidArgumentError, match="patch must be a positive integer"):
        Explainer(one_patch_model(), occlusion={"patch": 0})
    with pytest.raises(UnknownNameError, match="occlusion fill"):
        Explainer(one_patch_model(), **{"occlusion.fill": "grey"})

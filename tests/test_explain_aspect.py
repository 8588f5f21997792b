"""Non-square image files keep their aspect in explain's figures, and the maps are fitted onto them."""

import numpy as np
from kit import save_image

from zoo.explain.images import display_images
from zoo.plots.explain import fit_to_image, plot_method_grid


def test_display_images_keep_the_files_aspect(tmp_path):
    save_image(tmp_path / "wide.png", np.full((20, 80, 3), (200, 10, 10)))
    save_image(tmp_path / "big.png", np.full((300, 600), 90))
    wide, big = display_images([tmp_path / "wide.png", tmp_path / "big.png"], channels=1, max_side=256)
    assert wide.shape == (20, 80, 1)
    assert big.shape == (128, 256, 1)  # shrunk, same 2:1 aspect


def test_a_map_is_unstretched_onto_a_wide_image():
    heat = np.zeros((28, 28), "float32")
    heat[:, :14] = 1.0  # the model saw the left half of its (squeezed) input as salient
    fitted = fit_to_image(heat, np.zeros((20, 80, 1)))
    assert fitted.shape == (20, 80)
    assert fitted[:, :36].mean() > 0.95 and fitted[:, 44:].mean() < 0.05  # still the left half of the photo


def test_the_grid_draws_images_of_different_sizes(tmp_path):
    images = [np.full((20, 80, 1), 100.0), np.full((28, 28, 1), 50.0)]
    heatmaps = np.random.default_rng(0).uniform(size=(2, 28, 28))
    plot_method_grid(images, heatmaps, ["wide", "square"], tmp_path / "grid.png", title="t")
    assert (tmp_path / "grid.png").stat().st_size > 1000

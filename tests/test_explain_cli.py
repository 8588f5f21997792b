"""`zoo explain` end to end on a tiny run directory, the sanity check, and bad input."""

import json

import numpy as np
import pytest
from kit import fake_run, invoke as zoo, pixels, save_image, tiny_classifier

from zoo.explain.registry import resolve_methods
from zoo.explain.sanity import cascading_randomisation, rank_correlation
from zoo.progress import Notes

CLASSES = ["circle", "square", "cross"]


def tiny_model(seed=0):
    return tiny_classifier((12, 12, 1), 3, seed=seed, convs=((4, 1), (6, 1)), standardize=True, hidden=8)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A run of a model the registry does not know (named "tiny")."""
    return fake_run(tmp_path_factory.mktemp("run"), tiny_model(), class_names=CLASSES)


@pytest.fixture(scope="module")
def image_files(tmp_path_factory):
    """A gray 12x12 PNG, a colour 40x30 JPEG and a gray+alpha PNG: all must become (12, 12, 1)."""
    root = tmp_path_factory.mktemp("images")
    rng = np.random.default_rng(0)
    gray = save_image(root / "gray.png", rng.integers(0, 255, (12, 12), dtype=np.uint8), "L")
    colour = save_image(root / "colour.jpg", rng.integers(0, 255, (30, 40, 3), dtype=np.uint8), "RGB")
    alpha = save_image(root / "alpha.png", rng.integers(0, 255, (20, 20, 2), dtype=np.uint8), "LA")
    return [str(gray), str(colour), str(alpha)]


def invoke(*args):
    return zoo("explain", *args)


def test_all_methods_write_grids_and_raw_maps(run_dir, image_files, tmp_path):
    out = tmp_path / "out"
    # files listed after one --images, plus a repeated --images: both spellings work
    result = invoke(run_dir, "--images", image_files[0], image_files[1], "--images", image_files[2],
                    "--method", "all", "--samples", "3", "--steps", "8", "--batch-size", "5", "--out", out)
    assert result.exit_code == 0, result.output
    for m in resolve_methods("all"):
        assert (out / f"explain_{m}.png").stat().st_size > 0
        maps = np.load(out / f"maps_{m}.npy")
        assert maps.shape == (3, 12, 12) and maps.min() >= 0
    assert np.load(out / "attributions_integrated-gradients.npy").shape == (3, 12, 12, 1)
    assert (out / "explain_all.png").is_file()
    summary = json.loads((out / "explain.json").read_text())
    # --images options first, then the files listed after them
    assert [i["source"] for i in summary["images"]] == ["gray.png", "alpha.png", "colour.jpg"]
    assert summary["methods"]["gradcam"]["layer"] == "conv2"  # not in the registry: last 4-D layer
    assert all(i["predicted"] in CLASSES for i in summary["images"])
    assert not list(out.glob(".*tmp*"))  # no half-written leftovers


def test_target_class_by_name_and_layer(run_dir, image_files, tmp_path):
    out = tmp_path / "out"
    result = invoke(run_dir, "--images", image_files[0], "--method", "gradcam", "--layer", "conv1",
                    "--target", "Square", "--out", out)
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "explain.json").read_text())
    assert summary["images"][0]["explained_class"] == "square"
    assert summary["methods"]["gradcam"]["layer"] == "conv1"


def test_filters_draws_first_conv_kernels(run_dir, tmp_path):
    result = invoke(run_dir, "--filters", "--out", tmp_path)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "filters_conv1.png").stat().st_size > 0


def test_sanity_flags_randomised_maps_as_changed(run_dir, image_files, tmp_path):
    out = tmp_path / "out"
    result = invoke(run_dir, "--images", *image_files, "--method", "gradient", "--sanity", "--out", out)
    assert result.exit_code == 0, result.output
    sanity = json.loads((out / "explain.json").read_text())["sanity"]["gradient"]
    assert sanity["steps"] == ["original", "logits", "fc1", "conv2", "conv1"]
    assert sanity["mean_spearman"][0] == pytest.approx(1.0)
    assert sanity["final_spearman"] < 0.5 and not sanity["survived_randomisation"]
    assert (out / "sanity.png").is_file()
    assert "change when the model is randomised" in result.output


def test_cascade_leaves_the_callers_model_untouched():
    from zoo.explain import Explainer
    from zoo.models.common import set_standardization

    model = tiny_model(seed=3)
    set_standardization(model, 0.3, 0.09)  # the clone must carry the statistics over too
    before = [w.copy() for w in model.get_weights()]
    images = pixels(4, (12, 12, 1), seed=1)
    progress = Notes()
    results = cascading_randomisation(model, images, [0, 1, 2, 0], ["gradient"], seed=1, progress=progress)
    r = results["gradient"]
    assert r.correlations.shape == (5, 4)
    layers = r.steps[1:]  # each step is heard before it runs, with the layers randomised so far
    assert progress.notes == ["0/4 randomised: original", *(f"{i}/4 randomised: {s}" for i, s in enumerate(layers))]
    np.testing.assert_allclose(r.correlations[0], 1.0)
    # step 0 is the caller's model exactly
    original = Explainer(model).explain("gradient", images, [0, 1, 2, 0]).heatmaps
    np.testing.assert_allclose(r.maps[0], original, rtol=1e-6)
    assert r.final_correlation < 0.5 and not r.survived
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_rank_correlation_known_values():
    a = np.arange(12.0).reshape(2, 6)
    np.testing.assert_allclose(rank_correlation(a, a), [1, 1])
    np.testing.assert_allclose(rank_correlation(a, -a), [-1, -1])
    np.testing.assert_allclose(rank_correlation(a, a**3 + 5), [1, 1])  # ranks only
    np.testing.assert_allclose(rank_correlation(a, np.zeros_like(a)), [0, 0])  # constant: no ranking


@pytest.mark.parametrize("args, match", [
    (["--method", "smoothgrd"], "Did you mean: smoothgrad"),
    (["--samples", "-5"], "--samples"),
    (["--noise", "-0.1"], "--noise"),
    (["--steps", "0"], "--steps"),
    (["--target", "giraffe"], "no class 'giraffe'"),
    (["--layer", "conv9", "--method", "gradcam"], "no layer 'conv9'"),
])
def test_bad_input_gives_a_clear_error(run_dir, image_files, args, match):
    result = invoke(run_dir, "--images", image_files[0], *args)
    assert result.exit_code != 0
    assert match in result.output
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) <= 3


def test_unreadable_image_file(run_dir, tmp_path):
    bad = tmp_path / "broken.png"
    bad.write_text("not an image")
    result = invoke(run_dir, "--images", bad, "--method", "gradient", "--out", tmp_path / "out")
    assert result.exit_code != 0
    assert "Cannot read" in result.output and "broken.png" in result.output
    missing = invoke(run_dir, "--images", tmp_path / "nope.png")
    assert missing.exit_code != 0 and "not found" in missing.output


def test_true_target_needs_labels(run_dir, image_files):
    result = invoke(run_dir, "--images", image_files[0], "--target", "true")
    assert result.exit_code != 0 and "labelled" in result.output

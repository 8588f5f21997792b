"""Known answers for the saliency methods, on tiny Keras models built here."""

import numpy as np
import pytest
from kit import linear_classifier, pixels, tiny_classifier

from zoo.errors import InvalidArgumentError, UnknownNameError
from zoo.explain import Explainer, GradientEngine, default_layer, resolve_methods, resolve_targets
from zoo.explain.registry import EXPLAIN_METHODS
from zoo.explain.gradcam import GradCam
from zoo.explain.saliency import to_heatmap

SHAPE = (6, 5, 2)


def linear_model(seed=0, classes=3):
    """logits = W x + b on the raw pixels."""
    rng = np.random.default_rng(seed)
    w = rng.normal(size=(int(np.prod(SHAPE)), classes)).astype("float32")
    b = rng.normal(size=(classes,)).astype("float32")
    return linear_classifier(SHAPE, classes, kernel=w, bias=b), w, b


def small_convnet(seed=0, shape=(10, 10, 1), classes=4, activation="tanh"):
    """A nonlinear model with the zoo's stem (inputs in [0, 255])."""
    return tiny_classifier(shape, classes, seed=seed, convs=((6, 1), (8, 1)), activation=activation, pool=True,
                           hidden=16)


def test_gradient_of_linear_model_is_abs_weight_row():
    model, w, _ = linear_model()
    images = pixels(5, SHAPE, seed=1)
    targets = np.array([0, 1, 2, 1, 0])
    ex = Explainer(model, batch_size=2).explain("gradient", images, targets)
    expected_raw = w.T.reshape(3, *SHAPE)[targets]
    np.testing.assert_allclose(ex.attributions, expected_raw, rtol=1e-6, atol=0)
    np.testing.assert_allclose(ex.heatmaps, np.abs(expected_raw).max(axis=-1), rtol=1e-6, atol=0)


def test_integrated_gradients_of_linear_model_is_input_times_weight():
    model, w, _ = linear_model()
    images = pixels(4, SHAPE, seed=1)
    targets = np.array([2, 0, 1, 2])
    ex = Explainer(model, steps=7, batch_size=5).explain("integrated-gradients", images, targets)
    expected = images * w.T.reshape(3, *SHAPE)[targets]
    np.testing.assert_allclose(ex.attributions, expected, rtol=1e-4, atol=1e-4)
    assert ex.info["completeness_gap"].max() < 1e-4


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_integrated_gradients_completeness_on_nonlinear_model(activation):
    model = small_convnet(activation=activation)
    images = pixels(6, (10, 10, 1), seed=1)
    engine = GradientEngine(model, batch_size=32)
    targets = engine.logits(images).argmax(1)
    attr, gap = engine.integrated_gradients(images, targets, steps=50)
    f_x = engine.target_logits(images, targets)
    f_0 = engine.target_logits(np.zeros_like(images), targets)
    delta = f_x - f_0
    assert np.all(np.abs(delta) > 1e-3)  # a meaningful path, not a zero-length one
    np.testing.assert_allclose(attr.reshape(6, -1).sum(1), delta, rtol=0.01)
    np.testing.assert_allclose(gap, np.abs(attr.reshape(6, -1).sum(1) - delta) / np.abs(delta), rtol=1e-6)
    assert gap.max() < 0.01


def test_smoothgrad_with_tiny_noise_equals_gradient():
    model = small_convnet()
    images = pixels(3, (10, 10, 1), seed=1)
    targets = np.array([0, 1, 3])
    engine = GradientEngine(model, batch_size=16)
    vanilla = engine.gradient(images, targets)
    smooth = engine.smoothgrad(images, targets, samples=8, noise=1e-7)
    np.testing.assert_allclose(smooth, vanilla, rtol=1e-4, atol=1e-9)
    squared = engine.smoothgrad(images, targets, samples=8, noise=1e-7, squared=True)
    np.testing.assert_allclose(squared, vanilla**2, rtol=1e-3, atol=1e-15)


def test_smoothgrad_noise_changes_the_map_and_is_seeded():
    model = small_convnet()
    images = pixels(2, (10, 10, 1), seed=1)
    targets = np.array([0, 1])
    engine = GradientEngine(model, batch_size=16)
    a = engine.smoothgrad(images, targets, samples=5, noise=0.2, seed=1)
    b = engine.smoothgrad(images, targets, samples=5, noise=0.2, seed=1)
    c = engine.smoothgrad(images, targets, samples=5, noise=0.2, seed=2)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)
    assert not np.allclose(a, engine.gradient(images, targets))


@pytest.mark.parametrize("method", EXPLAIN_METHODS.names())
def test_maps_do_not_depend_on_batch_size(method):
    # same noise per (image, sample) whatever the chunking; only float summation order may differ
    model = small_convnet()
    images = pixels(5, (10, 10, 1), seed=1)
    targets = np.array([0, 1, 2, 3, 0])
    maps = [
        Explainer(model, batch_size=bs, samples=6, steps=6, noise=0.1).explain(method, images, targets).heatmaps
        for bs in (4, 64)  # 4 leaves a partial last chunk: 30 items = 7 chunks + 2
    ]
    np.testing.assert_allclose(maps[0], maps[1], rtol=1e-5, atol=1e-7 * float(np.abs(maps[1]).max()))


def test_gradcam_shape_non_negative_and_layer_choice():
    model = small_convnet(activation="relu")
    images = pixels(3, (10, 10, 1), seed=1)
    assert default_layer(model) == "conv2"  # the last 4-D output
    assert default_layer(model, "conv1") == "conv1"  # the registry's name wins when present
    assert default_layer(model, "missing") == "conv2"
    cam = GradCam(model, "conv2", batch_size=2)(images, [0, 1, 2])
    assert cam.shape == (3, 10, 10)
    assert cam.min() >= 0
    assert np.isfinite(cam).all()
    with pytest.raises(UnknownNameError, match="conv2"):
        GradCam(model, "conv3")
    with pytest.raises(InvalidArgumentError, match="4-D"):
        GradCam(model, "fc1")


def test_gradcam_of_dense_only_model_is_a_clear_error():
    model, _, _ = linear_model()
    with pytest.raises(InvalidArgumentError, match="Grad-CAM"):
        Explainer(model).explain("gradcam", pixels(1, SHAPE, seed=1), [0])


def test_heatmap_is_abs_max_over_channels():
    g = np.array([[[[1.0, -3.0], [-0.5, 0.2]]]])
    np.testing.assert_array_equal(to_heatmap(g), [[[3.0, 0.5]]])


def test_resolve_methods_and_targets():
    assert resolve_methods("all") == [name for name, m in EXPLAIN_METHODS.records().items() if m.in_all]
    assert resolve_methods("IG") == ["integrated-gradients"]
    with pytest.raises(UnknownNameError, match="smoothgrad"):
        resolve_methods("smoothgrd")
    names = ["cat", "dog", "Bird"]
    pred, labels = np.array([0, 2]), np.array([1, 1])
    assert resolve_targets(None, pred, labels, names).tolist() == [0, 2]
    assert resolve_targets("true", pred, labels, names).tolist() == [1, 1]
    assert resolve_targets("bird", pred, labels, names).tolist() == [2, 2]
    assert resolve_targets("1", pred, labels, names).tolist() == [1, 1]
    with pytest.raises(UnknownNameError, match="Did you mean: dog"):
        resolve_targets("dgo", pred, labels, names)
    with pytest.raises(InvalidArgumentError, match="0..2"):
        resolve_targets("7", pred, labels, names)
    with pytest.raises(InvalidArgumentError, match="labelled"):
        resolve_targets("true", pred, None, names)


@pytest.mark.parametrize("kwargs, match", [
    ({"samples": 0}, "^samples must"), ({"noise": -0.1}, "^noise must"), ({"steps": -3}, "^steps must"),
    ({"batch_size": 0}, "^batch_size must"),
])
def test_bad_parameters_are_rejected(kwargs, match):
    model, _, _ = linear_model()
    with pytest.raises(InvalidArgumentError, match=match):
        Explainer(model, **kwargs)


def test_image_files_become_model_inputs(tmp_path):
    from PIL import Image

    from zoo.errors import DataError
    from zoo.explain.images import load_image_files

    rgb = np.zeros((30, 40, 3), np.uint8)
    rgb[..., 0] = 255  # pure red
    Image.fromarray(rgb).save(tmp_path / "red.png")
    Image.fromarray(np.full((5, 7), 100, np.uint8)).save(tmp_path / "gray.png")
    gray_in = load_image_files([tmp_path / "red.png", tmp_path / "gray.png"], (12, 10, 1))
    assert gray_in.shape == (2, 12, 10, 1) and gray_in.dtype == np.float32
    np.testing.assert_allclose(gray_in[0], 76, atol=1)  # ITU-R 601 luma of red: 0.299 * 255
    np.testing.assert_allclose(gray_in[1], 100)
    colour_in = load_image_files([tmp_path / "gray.png"], (8, 8, 3))
    assert colour_in.shape == (1, 8, 8, 3)
    np.testing.assert_allclose(colour_in, 100)
    (tmp_path / "bad.jpg").write_bytes(b"\xff\xd8 truncated")
    with pytest.raises(DataError, match="bad.jpg"):
        load_image_files([tmp_path / "bad.jpg"], (8, 8, 1))


def test_cascade_randomises_frozen_layers_but_not_the_input_statistics():
    # A transfer run freezes its whole base; the cascade must still destroy it, or maps "survive".
    from zoo.explain.sanity import randomisation_order

    model = tiny_classifier((8, 8, 1), 3, convs=((2, 1),), rescale=False, standardize=True, batchnorm=True)
    for frozen in ("conv1", "conv1_bn"):
        model.get_layer(frozen).trainable = False
    assert randomisation_order(model) == ["logits", "conv1_bn", "conv1"]

"""Every registered model: shapes, finite logits, gradients, save/load, param counts, channels."""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")
from kit import pixels, run_model_test  # noqa: E402

from zoo.errors import InvalidArgumentError  # noqa: E402
from zoo.models.common import LOGITS, get_standardization, set_standardization  # noqa: E402
from zoo.flops import count_params, weightless_model  # noqa: E402
from zoo.registry import MODELS, create_model, list_models  # noqa: E402

SPECS = list_models()
NAMES = [s.name for s in SPECS]

# Trainable parameters published for the faithful models (torchvision / the papers), at the
# registry's default input shape and class count, and the zoo's own small-input variants.
PUBLISHED_PARAMS = {
    "lenet5": 61_706,
    "simplenet": 233_196,
    "alexnet": 61_100_840,
    "vgg11": 132_863_336,
    "vgg13": 133_047_848,
    "vgg16": 138_357_544,
    "vgg19": 143_667_240,
    "vgg11_bn": 132_868_840,
    "vgg13_bn": 133_053_736,
    "vgg16_bn": 138_365_992,
    "vgg19_bn": 143_678_248,
    "googlenet": 7_005_832,  # Table 1 with real 5x5 branches, BN instead of conv biases
    "resnet18": 11_689_512,
    "resnet34": 21_797_672,
    "resnet50": 25_557_032,
    "resnet101": 44_549_160,
    "resnet152": 60_192_808,
    # CIFAR ResNets with option A (parameter-free) shortcuts: the paper's 0.27M ... 1.7M
    "resnet20": 269_722,
    "resnet32": 464_154,
    "resnet44": 658_586,
    "resnet56": 853_018,
    "resnet110": 1_727_962,
    # the zoo's own small-input variants (regression values, see their docstrings)
    "alexnet_small": 1_929_578,
    "vgg_small": 962_282,
    "googlenet_small": 1_501_914,
}

# The smallest input each ImageNet-shaped model is exercised at (all ImageNet ones work at 32x32
# except AlexNet, whose 11x11/4 stem and three poolings need at least 63 pixels).
TEST_SHAPE = {"alexnet": (64, 64, 3)}


def input_for(spec, channels: int | None = None):
    """Small-input models at their default shape, ImageNet ones at the smallest they support."""
    h, w, c = TEST_SHAPE.get(spec.name, spec.input_shape if spec.small_input else (32, 32, 3))
    return (h, w, channels or c)


# Models with tens of millions of weights even at 32x32 (FC heads or depth): seconds to build.
HUGE = {name for name, count in PUBLISHED_PARAMS.items() if count > 25_000_000}
# Deeper copies of another registered model (the value): the same builder with more blocks of the
# same kind. Running them eagerly costs most of this file's time and tests no new code, so they get
# the graph checks (test_deeper_sibling_graph) and the exact parameter counts instead of the full
# contract, which their shallower sibling runs.
DEEPER_OF = {
    "resnet32": "resnet20", "resnet44": "resnet20", "resnet56": "resnet20", "resnet110": "resnet20",
    "vgg13": "vgg11", "vgg16": "vgg11", "vgg19": "vgg11",
    "vgg13_bn": "vgg11_bn", "vgg16_bn": "vgg11_bn", "vgg19_bn": "vgg11_bn",
    "resnet34": "resnet18", "resnet101": "resnet50", "resnet152": "resnet50",
}
DEEPER_SIBLINGS = set(DEEPER_OF)


def round_trip_checked(spec) -> bool:
    """The .keras round trip runs on the small-input models, the ones users train and save.

    Each ImageNet model is built by the same family code from exactly the same layer types as its
    small-input sibling (saving depends on layer types and configs, not depth or width), and
    writing 100-500 MB files per VGG/ResNet would blow the suite's time budget.
    """
    return spec.small_input


def images(shape, batch=2, seed=0):
    return pixels(batch, shape, seed=seed)


def _bias_before_batchnorm(model) -> set[str]:
    """Conv biases that feed a BatchNormalization: BN removes any shift, so their gradient is 0."""
    names = set()
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            src = layer._inbound_nodes[0].input_tensors[0]._keras_history.operation
            if isinstance(src, keras.layers.Conv2D) and src.use_bias:
                names.add(src.bias.path)
    return names


def test_registry_metadata_complete():
    assert len(NAMES) == len(set(NAMES))
    assert set(PUBLISHED_PARAMS) == set(NAMES), "every registered model needs its parameter count here"
    for spec in SPECS:
        assert spec.paper and spec.family and spec.last_conv, spec.name
        assert spec.input_shape[2] in (1, 3) and spec.num_classes >= 2
        assert spec.description, f"{spec.name} builder needs a docstring"


@pytest.mark.parametrize(
    "name", [pytest.param(n, marks=pytest.mark.slow) if n in HUGE else n for n in NAMES if n not in DEEPER_SIBLINGS]
)
def test_model_contract(name, tmp_path):
    """Built once (they are big): forward, one training step, .keras round trip."""
    spec = MODELS.get(name)
    shape = input_for(spec)
    keras.utils.set_random_seed(1)
    model = create_model(name, input_shape=shape, num_classes=3)

    # forward: (batch, classes) finite logits; the conventional layers are where others look
    x = images(shape)
    y = model(x, training=False)
    assert tuple(y.shape) == (2, 3)
    assert np.all(np.isfinite(y.numpy()))
    assert model.layers[1].name == "rescale" and model.layers[2].name == "standardize"
    assert model.get_layer(LOGITS).activation.__name__ == "linear"
    # last_conv: the last convolutional feature map (Grad-CAM's target); no conv comes after it
    names = [layer.name for layer in model.layers]
    assert len(model.get_layer(spec.last_conv).output.shape) == 4
    after = model.layers[names.index(spec.last_conv) + 1:]
    assert not any(isinstance(layer, keras.layers.Conv2D) for layer in after), spec.last_conv

    # one training step: every trainable weight gets a gradient
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    with tf.GradientTape() as tape:
        loss = loss_fn(np.array([0, 2]), model(images(shape, seed=1), training=True))
    grads = tape.gradient(loss, model.trainable_weights)
    exempt = _bias_before_batchnorm(model)
    for var, grad in zip(model.trainable_weights, grads):
        assert grad is not None, var.path
        g = np.abs(grad.numpy())
        assert np.all(np.isfinite(g)), var.path
        if var.path in exempt:
            assert g.max() < 1e-4, var.path
        else:
            assert g.max() > 0, f"{name}: no gradient reaches {var.path}"

    # .keras round trip, standardization included
    if not round_trip_checked(spec):
        return
    set_standardization(model, 0.3, 0.05)
    path = tmp_path / f"{name}.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, compile=False)
    np.testing.assert_allclose(loaded(x, training=False), model(x, training=False), rtol=1e-5, atol=1e-5)
    assert [layer.name for layer in loaded.layers] == [layer.name for layer in model.layers]
    np.testing.assert_allclose(get_standardization(loaded)[0], [0.3] * shape[2])


def test_each_deeper_sibling_is_a_deeper_copy_of_a_model_that_runs_the_full_contract():
    for deeper, base in DEEPER_OF.items():
        assert base not in DEEPER_OF and MODELS.get(deeper).family == MODELS.get(base).family, deeper
        assert MODELS.get(deeper).small_input == MODELS.get(base).small_input, deeper
        assert PUBLISHED_PARAMS[deeper] > PUBLISHED_PARAMS[base], deeper


@pytest.mark.parametrize("name", sorted(DEEPER_SIBLINGS))
def test_deeper_sibling_graph(name):
    spec = MODELS.get(name)
    run_model_test(spec, input_shape=input_for(spec), num_classes=3)


@pytest.mark.parametrize("name", [n for n in NAMES if n not in DEEPER_SIBLINGS])
def test_other_channel_count(name):
    """The contract ran at the default channels (1 for Fashion-MNIST models, 3 for the others)."""
    spec = MODELS.get(name)
    channels = 4 - input_for(spec)[2]  # 1 <-> 3
    # the graph is what depends on the channels (stem conv, standardization), not weight values
    model = weightless_model(name, input_shape=input_for(spec, channels), num_classes=5)
    assert tuple(model.outputs[0].shape) == (None, 5)
    assert model.get_layer("standardize").adapt_mean.shape == (channels,)
    assert model.layers[0].output.shape[-1] == channels


def test_one_and_three_channels_run():
    for channels in (1, 3):
        model = create_model("simplenet", input_shape=(28, 28, channels), num_classes=5)
        assert tuple(model(images((28, 28, channels)), training=False).shape) == (2, 5)


@pytest.mark.parametrize("name", sorted(PUBLISHED_PARAMS))
def test_param_count_matches_published(name):
    # registry default: 224x224x3 / 1000 classes for the ImageNet models; weights are not
    # allocated (counts come from the variables' shapes), so this is fast even for VGG-19
    model = weightless_model(name)
    assert count_params(model)[0] == PUBLISHED_PARAMS[name]


def test_set_standardization_is_per_channel_affine():
    model = create_model("simplenet", input_shape=(20, 20, 3), num_classes=4)
    x = images((20, 20, 3))
    mean, var = np.array([0.2, 0.5, 0.7]), np.array([0.04, 0.25, 0.01])
    before = model.predict(x, verbose=0)  # traces predict_function with the identity stats
    set_standardization(model, mean, var)
    after = model.predict(x, verbose=0)
    # standardizing x equals feeding the un-standardized model the standardized pixels
    set_standardization(model, 0.0, 1.0)
    manual = model.predict(((x / 255 - mean) / np.sqrt(var) * 255).astype("float32"), verbose=0)
    np.testing.assert_allclose(after, manual, rtol=1e-4, atol=1e-4)
    assert np.abs(after - before).max() > 1e-3
    np.testing.assert_allclose(get_standardization(model)[1], [1.0] * 3)


@pytest.mark.parametrize(
    "mean, var, match", [([0.1, 0.2], 1.0, "1 or 3 values"), (0.1, 0.0, "positive"), (np.nan, 1.0, "finite")]
)
def test_set_standardization_rejects_bad_stats(mean, var, match):
    model = create_model("lenet5", input_shape=(28, 28, 3))
    with pytest.raises(InvalidArgumentError, match=match):
        set_standardization(model, mean, var)


@pytest.mark.parametrize("bad", [1.0, -0.1, "0.5"])
def test_bad_dropout_is_rejected_with_value(bad):
    with pytest.raises(InvalidArgumentError, match="dropout"):
        create_model("simplenet", dropout=bad)


def test_too_small_input_is_a_clear_error():
    with pytest.raises(InvalidArgumentError, match="at least 16x16"):
        create_model("simplenet", input_shape=(8, 8, 1))


def test_lenet5_pads_28_to_32():
    model = create_model("lenet5")
    assert tuple(model.get_layer("pad").output.shape[1:3]) == (32, 32)
    assert tuple(model.get_layer("pool2").output.shape[1:]) == (5, 5, 16)


def test_dropout_option_changes_the_rate():
    assert create_model("simplenet", dropout=0.4).get_layer("dropout").rate == 0.4
    with pytest.raises(ValueError):
        create_model("simplenet", dropout=0.0).get_layer("dropout")


@pytest.fixture(scope="module")
def googlenet_aux():
    keras.utils.set_random_seed(2)
    return create_model("googlenet_small", input_shape=(28, 28, 1), num_classes=4, aux_logits=True)


def test_googlenet_aux_heads_are_extra_outputs_reached_by_the_loss(googlenet_aux):
    from zoo.models.inception import AUX_LOSS_WEIGHT

    model = googlenet_aux
    assert [o._keras_history.operation.name for o in model.outputs] == ["logits", "aux1_logits", "aux2_logits"]
    x = images((28, 28, 1))
    y = np.array([1, 3])
    ce = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    with tf.GradientTape() as tape:
        main, aux1, aux2 = model(x, training=True)
        loss = ce(y, main) + AUX_LOSS_WEIGHT * (ce(y, aux1) + ce(y, aux2))
    for var, grad in zip(model.trainable_weights, tape.gradient(loss, model.trainable_weights)):
        assert grad is not None and np.abs(grad.numpy()).max() > 0, var.path
    assert all(tuple(o.shape) == (2, 4) for o in (main, aux1, aux2))


def test_googlenet_main_head_drops_aux_and_keeps_weights(googlenet_aux):
    from zoo.models.inception import main_head

    x = images((28, 28, 1), seed=3)
    head = main_head(googlenet_aux)
    assert len(head.outputs) == 1
    np.testing.assert_allclose(head(x, training=False), googlenet_aux(x, training=False)[0], rtol=1e-6)
    assert count_params(head)[0] < count_params(googlenet_aux)[0]


def test_googlenet_aux_changes_only_outputs_not_backbone_params():
    plain = count_params(weightless_model("googlenet"))[0]
    with_aux = count_params(weightless_model("googlenet", aux_logits=True))[0]
    # two heads of conv 512|528->128 (+BN), FC 2048->1024, FC 1024->1000
    heads = (512 * 128 + 2 * 128) + (528 * 128 + 2 * 128) + 2 * (2048 * 1024 + 1024 + 1024 * 1000 + 1000)
    assert with_aux - plain == heads


def test_cifar_resnet_uses_parameter_free_option_a_shortcuts():
    model = weightless_model("resnet20")
    assert not [layer for layer in model.layers if layer.name.endswith("_0")]
    pad = model.get_layer("conv3_block1_0_pad")
    assert tuple(pad.output.shape) == (None, 16, 16, 32)
    assert sum(isinstance(layer, keras.layers.Conv2D) for layer in model.layers) == 19  # + FC = 20


def test_imagenet_resnet_projects_shortcuts_option_b():
    model = weightless_model("resnet50")
    assert isinstance(model.get_layer("conv2_block1_0"), keras.layers.Conv2D)  # 64 -> 256 channels
    assert tuple(model.get_layer("conv5_block3_out").output.shape) == (None, 7, 7, 2048)


def test_flops_match_the_multiply_adds_of_simplenet():
    from zoo.flops import count_flops, model_stats

    # 2 FLOPs per multiply-add: conv1 24x24x20 outputs of 5x5x1, conv2 8x8x50 of 5x5x20, FC 800->256->10
    macs = 24 * 24 * 20 * 25 + 8 * 8 * 50 * 500 + 800 * 256 + 256 * 10
    stats = model_stats("simplenet")
    assert 2 * macs <= stats.flops <= 1.02 * 2 * macs  # + bias adds, ReLUs, pooling
    # the same graph counted on a model with real weights gives the same number
    assert count_flops(create_model("simplenet")) == stats.flops
    assert (stats.trainable_params, stats.input_shape, stats.num_classes) == (233_196, (28, 28, 1), 10)


def test_flops_scale_with_input_area():
    from zoo.flops import model_stats

    small, large = model_stats("resnet20", (32, 32, 3)).flops, model_stats("resnet20", (64, 64, 3)).flops
    assert 3.9 < large / small < 4.1

"""Transfer learning: new heads, freezing (incl. batch norm), the SVM loss, the auto rule, ImageNet mapping."""

from __future__ import annotations

import types

import numpy as np
import pytest
from kit import dataset_of, invoke, pixels, tiny_classifier, write_npz

from zoo.errors import InvalidArgumentError, ModelFileError, UnknownNameError
from zoo.training.svm import MulticlassHinge, multiclass_hinge
from zoo.training.transfer import prepare_transfer
from zoo.training.transfer_rule import SIMILAR_DISTANCE, SMALL_PER_CLASS, choose_mode, feature_distance


def _source(tmp_path, shape=(12, 12, 1), classes=4, name="src.keras"):
    """A tiny zoo-style classifier with batch norm, saved as a .keras file."""
    model = tiny_classifier(shape, classes, convs=((4, 1), (6, 2)), batchnorm=True, standardize=([0.5], [0.25]),
                            hidden=8)
    # non-trivial BN statistics, so "unchanged" means something
    for bn in ("conv1_bn", "conv2_bn"):
        layer = model.get_layer(bn)
        layer.moving_mean.assign(np.linspace(-0.3, 0.3, layer.moving_mean.shape[0]))
        layer.moving_variance.assign(np.linspace(0.5, 2.0, layer.moving_variance.shape[0]))
    path = tmp_path / name
    model.save(path)
    return path


def _config(src, mode, **kw):
    return types.SimpleNamespace(transfer_from=str(src), transfer=mode, unfreeze=kw.pop("unfreeze", None),
                                 lr=kw.pop("lr", 1e-3), optimizer="adam", model=None, seed=0, **kw)


def _fit(model, loss=None, steps=3, shape=(12, 12, 1), classes=3):
    import keras

    x = pixels(steps * 8, shape, seed=1)
    y = np.arange(steps * 8) % classes
    model.compile(optimizer=keras.optimizers.SGD(0.5),
                  loss=loss or keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)


def _weights(model, names):
    return {n: [w.copy() for w in model.get_layer(n).get_weights()] for n in names}


# ------------------------------------------------------------------------------------------ SVM


def test_multiclass_hinge_matches_hand_computation():
    # cs231n: scores cat 3.2, car 5.1, frog -1.7, true class cat:
    # max(0, 5.1 - 3.2 + 1) + max(0, -1.7 - 3.2 + 1) = 2.9 + 0 = 2.9
    scores = np.array([[3.2, 5.1, -1.7], [1.3, 4.9, 2.0], [2.2, 2.5, -3.1]])
    labels = np.array([0, 1, 2])
    expected = [2.9, 0.0, 12.9]  # car row: 0 + 0; frog row: max(0, 6.3) + max(0, 6.6)
    np.testing.assert_allclose(multiclass_hinge(labels, scores), expected, atol=1e-12)
    loss = MulticlassHinge()
    assert float(loss(labels[:1], scores[:1].astype("float32"))) == pytest.approx(2.9, abs=1e-6)
    assert float(loss(labels, scores.astype("float32"))) == pytest.approx(np.mean(expected), abs=1e-5)


def test_svm_mode_freezes_base_and_regularises_a_linear_head(tmp_path):
    setup = prepare_transfer(_config(_source(tmp_path), "svm"), None, None, 3)
    model = setup.model
    assert isinstance(setup.loss, MulticlassHinge)
    head = model.get_layer("logits")
    assert head.units == 3 and head.activation.__name__ == "linear"
    assert head.kernel_regularizer is not None
    assert [w.name for w in model.trainable_weights] == ["kernel", "bias"]
    assert "svm" in setup.message and "hinge" in setup.message
    before = _weights(model, ["conv1", "conv2", "fc1"])
    _fit(model, loss=setup.loss)
    for name, ws in before.items():
        for a, b in zip(ws, model.get_layer(name).get_weights()):
            np.testing.assert_array_equal(a, b)


# ------------------------------------------------------------------------------ heads, freezing


def test_new_head_has_the_new_class_count_and_keeps_features(tmp_path):
    import keras

    src = _source(tmp_path)
    setup = prepare_transfer(_config(src, "feature-extract"), None, None, 7)
    assert setup.model.output.shape[-1] == 7
    assert setup.learning_rate is None and setup.loss is None
    original = keras.saving.load_model(src)
    x = pixels(4, (12, 12, 1))
    feats_old = keras.Model(original.input, original.get_layer("fc1").output).predict(x, verbose=0)
    feats_new = keras.Model(setup.model.input, setup.model.get_layer("fc1").output).predict(x, verbose=0)
    np.testing.assert_allclose(feats_old, feats_new, rtol=1e-6)


def test_feature_extract_leaves_base_and_batchnorm_unchanged(tmp_path):
    setup = prepare_transfer(_config(_source(tmp_path), "feature-extract"), None, None, 3)
    model = setup.model
    names = ["conv1", "conv1_bn", "conv2", "conv2_bn", "fc1", "standardize"]
    before = _weights(model, names)
    head_before = model.get_layer("logits").get_weights()[0].copy()
    _fit(model)
    for name, ws in before.items():
        for a, b in zip(ws, model.get_layer(name).get_weights()):
            np.testing.assert_array_equal(a, b)
    assert not np.array_equal(head_before, model.get_layer("logits").get_weights()[0])


def test_finetune_trains_body_at_lower_lr_but_frozen_bn_keeps_moving_statistics(tmp_path):
    setup = prepare_transfer(_config(_source(tmp_path), "finetune", lr=0.02), None, None, 3)
    model = setup.model
    assert setup.learning_rate == pytest.approx(0.002)
    bn = ["conv1_bn", "conv2_bn"]
    before = _weights(model, bn + ["conv1", "fc1"])
    assert all(not model.get_layer(n).trainable for n in bn)
    _fit(model)
    for name in bn:  # gamma, beta, moving mean, moving variance: all as loaded
        for a, b in zip(before[name], model.get_layer(name).get_weights()):
            np.testing.assert_array_equal(a, b)
    for name in ("conv1", "fc1"):
        assert not np.array_equal(before[name][0], model.get_layer(name).get_weights()[0])


def test_unfreeze_top_layers_only(tmp_path):
    setup = prepare_transfer(_config(_source(tmp_path), "finetune", unfreeze=2), None, None, 3)
    trainable = {layer.name for layer in setup.model.layers if layer.trainable and layer.weights}
    assert trainable == {"conv2", "fc1", "logits"}
    assert setup.details["trainable_layers"] == ["conv2", "fc1"]


def test_bad_transfer_arguments_give_clear_errors(tmp_path):
    src = _source(tmp_path)
    with pytest.raises(InvalidArgumentError, match=r"--unfreeze 9 is larger than the model: tiny has 3 weight layers.*conv1, conv2, fc1"):
        prepare_transfer(_config(src, "finetune", unfreeze=9), None, None, 3)
    with pytest.raises(InvalidArgumentError, match="only applies to --transfer finetune"):
        prepare_transfer(_config(src, "svm", unfreeze=1), None, None, 3)
    with pytest.raises(UnknownNameError, match="Did you mean: svm"):
        prepare_transfer(_config(src, "svn"), None, None, 3)
    with pytest.raises(ModelFileError, match="No such run directory or model file"):
        prepare_transfer(_config(tmp_path / "missing_run", "finetune"), None, None, 3)


def test_transfer_to_a_different_input_shape_resizes_inside(tmp_path):
    import keras

    setup = prepare_transfer(_config(_source(tmp_path), "feature-extract"), None, (20, 20, 3), 2)
    model = setup.model
    assert tuple(model.input.shape[1:]) == (20, 20, 3)
    assert model.get_layer("match_input") is not None and model.get_layer("conv1") is not None
    x = pixels(2, (20, 20, 3))
    model.save(tmp_path / "t.keras")
    from zoo.run import load_model

    np.testing.assert_allclose(load_model(tmp_path / "t.keras").predict(x, verbose=0),
                               model.predict(x, verbose=0), rtol=1e-5, atol=1e-6)
    assert isinstance(model, keras.Model)


def test_different_input_shape_keeps_the_sources_adapted_standardization(tmp_path):
    """Statistics set as a zoo run sets them (adapt variables + finalize_state, not constructor
    arguments) survive the resizing clone: training sees the same standardisation as model.keras."""
    from zoo.models.common import set_standardization
    from zoo.registry import create_model
    from zoo.run import load_model

    src = create_model("simplenet", (16, 16, 1), 4)
    set_standardization(src, 0.3, 0.04)
    src.save(tmp_path / "src.keras")
    setup = prepare_transfer(_config(tmp_path / "src.keras", "finetune"), None, (20, 20, 3), 2)
    model = setup.model
    assert model.get_layer("match_input") is not None
    np.testing.assert_allclose(np.asarray(model.get_layer("standardize").mean).ravel(), [0.3], rtol=1e-6)
    np.testing.assert_allclose(np.asarray(model.get_layer("standardize").variance).ravel(), [0.04], rtol=1e-6)
    x = pixels(2, (20, 20, 3))
    model.save(tmp_path / "t.keras")
    np.testing.assert_allclose(load_model(tmp_path / "t.keras").predict(x, verbose=0),
                               model.predict(x, verbose=0), rtol=1e-5, atol=1e-5)


def test_sample_features_takes_images_of_mixed_sizes(tmp_path):
    """An image folder's examples differ in size: each is resized before batching."""
    import keras
    import tensorflow as tf

    from zoo.surgery import feature_model
    from zoo.training.transfer_rule import _sample_features

    sizes = [(12, 12), (20, 15), (9, 30)]
    rng = np.random.default_rng(0)

    def examples():
        for i, (h, w) in enumerate(sizes):
            yield rng.integers(0, 256, (h, w, 1), dtype=np.uint8), np.int64(i)

    ds = tf.data.Dataset.from_generator(examples, output_signature=(
        tf.TensorSpec((None, None, 1), tf.uint8), tf.TensorSpec((), tf.int64)))
    feats = _sample_features(feature_model(keras.saving.load_model(_source(tmp_path))), ds, 10)
    assert feats.shape == (3, 8) and np.all(np.isfinite(feats))


def test_finetune_run_keeps_the_users_lr_in_config_json_across_resume(tmp_path):
    """The 0.1x fine-tune rate drives the optimizer only: config.json keeps --lr, so --resume does
    not scale it again (it used to shrink 10x per resume)."""
    import json

    from zoo.registry import create_model

    data = write_npz(tmp_path / "new.npz", 48, (28, 28, 1), 3, test=16, class_names=["p", "q", "r"])
    create_model("simplenet", (28, 28, 1), 5).save(tmp_path / "src.keras")
    out = tmp_path / "ft"
    args = ["train", "simplenet", "--from", str(tmp_path / "src.keras"), "--transfer", "finetune",
            "--dataset", f"npz:{data}", "--batch-size", "16", "--lr", "0.004", "--out", str(out)]
    for epochs, extra in (("1", []), ("2", ["--resume"])):
        result = invoke(*args, "--epochs", epochs, *extra)
        assert result.exit_code == 0, result.output
        assert "at learning rate 0.0004" in result.output
        cfg = json.loads((out / "config.json").read_text())
        assert cfg["lr"] == pytest.approx(0.004) and cfg["effective_lr"] == pytest.approx(0.0004)


# ------------------------------------------------------------------------------------ auto rule


def test_two_by_two_rule():
    small, large = SMALL_PER_CLASS / 10, SMALL_PER_CLASS * 2
    near, far = SIMILAR_DISTANCE / 10, SIMILAR_DISTANCE * 10
    assert choose_mode(small, near)[:2] == ("svm", None)
    assert choose_mode(small, far)[:2] == ("feature-extract", None)
    assert choose_mode(large, near)[0] == "finetune" and choose_mode(large, near)[1] >= 1
    assert choose_mode(large, far)[:2] == ("finetune", None)
    assert choose_mode(large, None)[:2] == ("finetune", None)  # unknown source data: "different"
    assert "large new dataset" in choose_mode(large, far)[2] and "different distribution" in choose_mode(large, far)[2]


def test_feature_distance_is_small_for_the_same_distribution_and_large_for_a_shift():
    rng = np.random.default_rng(0)
    a, b = rng.normal(0, 1, (500, 16)), rng.normal(0, 1, (500, 16))
    assert feature_distance(a, a) == 0.0
    assert feature_distance(a, b) < SIMILAR_DISTANCE / 2
    assert feature_distance(a, b + 1.0) == pytest.approx(1.0, rel=0.15)  # |shift|^2 = 16 = total variance
    assert feature_distance(a, b + 1.0) > SIMILAR_DISTANCE


def test_auto_mode_says_what_it_chose_and_why(tmp_path):
    x = pixels(30, (12, 12, 1), whole=True, dtype=np.uint8)
    data = types.SimpleNamespace(train=dataset_of(x, np.zeros(30, "int64")), sizes={"train": 30})
    setup = prepare_transfer(_config(_source(tmp_path), "auto"), data, None, 3)
    # no dataset in the source's config: distance unknown -> treated as different; 10/class is small
    assert setup.mode == "feature-extract"
    assert "Auto chose feature-extract" in setup.message and "small new dataset (10 examples/class" in setup.message
    assert setup.details["features_from"] == "conv2_relu"  # the conv trunk's end, below fc1


# --------------------------------------------------------------------------------- ImageNet map


def test_imagenet_weights_missing_says_which_file_and_where(tmp_path, monkeypatch):
    from zoo.training.imagenet import imagenet_weights_file

    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "kh"))
    with pytest.raises(ModelFileError, match=r"vgg16_weights_tf_dim_ordering_tf_kernels\.h5.*~/.keras/models"):
        imagenet_weights_file("vgg16")
    with pytest.raises(UnknownNameError, match="keras.applications covers vgg16, vgg19 with the zoo's layout"):
        imagenet_weights_file("lenet5")
    with pytest.raises(InvalidArgumentError, match="ResNet v1.*v1.5"):
        imagenet_weights_file("resnet50")


def test_vgg16_mapping_from_random_keras_application_matches_features():
    """keras.applications VGG16 (random weights, no top, 32x32) -> zoo vgg16: same block5 features
    for the same RGB image, although keras expects caffe BGR mean-subtracted input."""
    import keras

    from zoo.registry import create_model
    from zoo.training.imagenet import map_keras_application

    keras.utils.set_random_seed(0)
    app = keras.applications.VGG16(weights=None, include_top=False, input_shape=(32, 32, 3))
    zoo_model = create_model("vgg16", (32, 32, 3), 10)
    pairs = map_keras_application(zoo_model, app)
    assert len(pairs) == 13 and pairs[0] == ("block1_conv1", "block1_conv1")
    rgb = pixels(2, (32, 32, 3))
    caffe = keras.applications.vgg16.preprocess_input(rgb.copy())
    want = app.predict(caffe, verbose=0)
    got = keras.Model(zoo_model.input, zoo_model.get_layer("block5_pool").output).predict(rgb, verbose=0)
    np.testing.assert_allclose(got, want, rtol=1e-3, atol=1e-3 * np.abs(want).max())


@pytest.mark.slow
def test_vgg16_full_imagenet_mapping_gives_the_same_logits(tmp_path, monkeypatch):
    """The whole 224x224 VGG16 with its 1000-way head, loaded the way `--from imagenet` does (a
    weight file in the Keras cache), against keras.applications on caffe-preprocessed input."""
    import h5py
    import keras
    from keras.src.legacy.saving.legacy_h5_format import save_weights_to_hdf5_group

    from zoo.training.imagenet import imagenet_model, keras_cache_dir

    keras.utils.set_random_seed(0)
    app = keras.applications.VGG16(weights=None, classifier_activation=None)  # logits, like the zoo
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    keras_cache_dir().mkdir(parents=True)
    # the layout of Keras' published file (legacy HDF5 weights)
    with h5py.File(keras_cache_dir() / "vgg16_weights_tf_dim_ordering_tf_kernels.h5", "w") as f:
        save_weights_to_hdf5_group(f, app)
    zoo_model = imagenet_model("vgg16")
    rgb = pixels(1, (224, 224, 3), seed=1)
    want = app.predict(keras.applications.vgg16.preprocess_input(rgb.copy()), verbose=0)
    got = zoo_model.predict(rgb, verbose=0)
    np.testing.assert_allclose(got, want, rtol=1e-3, atol=1e-3 * np.abs(want).max())
    assert got.argmax() == want.argmax()

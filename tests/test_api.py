"""The Python API (zoo/api.py, issue #21): one surface from `import zoo`, the same answers as the CLI."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import zoo
from kit import cli, lightest_shipped, linear_classifier, run_python, tiny_classifier
from zoo.errors import InvalidArgumentError
from zoo.pretrained import pretrained_names

ENTRY_POINTS = ["load_data", "create_model", "load_model", "save_model", "model_info", "train", "evaluate",
                "predict", "explain", "attack", "ensemble", "export"]


@pytest.fixture(scope="module")
def images():
    return zoo.load_data("fashion_mnist", "test", n=16)


def test_dir_lists_the_entry_points_each_with_an_example_and_import_stays_tensorflow_free():
    assert set(ENTRY_POINTS + ["list_models", "plots"]) <= set(dir(zoo))
    assert not [n for n in dir(zoo) if n.startswith("_") and n != "__version__"]
    for name in ENTRY_POINTS + ["list_models"]:
        assert callable(getattr(zoo, name)), name
        assert ">>> import zoo" in (getattr(zoo, name).__doc__ or ""), f"zoo.{name} has no example"
    for name in zoo.plots.__all__:
        assert ">>> import zoo" in getattr(zoo.plots, name).__doc__
    code = ("import sys, zoo; dir(zoo); zoo.explain; zoo.attack; zoo.plots; "
            "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules, 'TF imported'")
    assert run_python(code).returncode == 0


def test_modules_sharing_a_name_are_both_the_module_and_the_function():
    import zoo.explain.registry  # noqa: F401  (importing a submodule must not hide the function)
    from zoo.export import export_model

    assert callable(zoo.explain) and callable(zoo.export) and zoo.export.export_model is export_model
    assert "Explainer" in dir(zoo.explain) and "fgsm" in dir(zoo.attack)
    import inspect

    assert "targets" in inspect.signature(zoo.explain).parameters


def test_load_data_gives_pixels_labels_and_names(images):
    x, y, names = images
    assert x.shape == (16, 28, 28, 1) and x.dtype == np.float32 and 1 < x.max() <= 255
    assert y.dtype == np.int64 and len(names) == 10


@pytest.mark.parametrize("name", pretrained_names())
def test_gradcam_maps_from_python_equal_zoo_explain(name, tmp_path, images):
    x, y, _ = images
    code, text = cli("explain", name, "--method", "gradcam", "--n", 4, "--out", tmp_path / "ex")
    assert code == 0, text
    cli_maps = np.load(tmp_path / "ex" / "maps_gradcam.npy")
    py = zoo.explain(name, x[:4], "gradcam")
    np.testing.assert_array_equal(py.heatmaps.astype("float32"), cli_maps)
    assert py.info["layer"] == zoo.model_info(name).gradcam_layer


def test_finetuning_a_new_head_copy_leaves_the_pretrained_model_bit_identical(images):
    x, y, names = images
    base = zoo.create_model("simplenet", pretrained=True)
    before = [w.copy() for w in base.get_weights()]
    new = zoo.create_model("simplenet", pretrained=True, num_classes=3)
    assert new.output.shape[-1] == 3 and not {id(v) for v in new.weights} & {id(v) for v in base.weights}
    zoo.train(new, (x, y % 3), epochs=1, lr=0.1, progress=False)  # unfrozen, a large step: every layer moves
    assert any(not np.array_equal(a, b) for a, b in zip(new.get_layer("conv1").get_weights(),
                                                          base.get_layer("conv1").get_weights()))
    assert all(np.array_equal(a, b) for a, b in zip(before, base.get_weights()))
    assert all(layer.trainable for layer in base.layers)
    frozen = zoo.create_model("simplenet", pretrained=True, num_classes=3, freeze=True)
    assert not frozen.get_layer("conv1").trainable and frozen.get_layer("logits").trainable
    assert base.get_layer("conv1").trainable


@pytest.mark.parametrize("scale", ["unit", "standardized"])
def test_scaled_images_get_one_clear_line_the_same_everywhere(images, scale):
    from zoo.inputs import adapt_classifier

    x, y, _ = images
    bad = x / 255.0 if scale == "unit" else (x - x.mean()) / x.std()
    model = zoo.load_model("simplenet")
    messages = []
    for call in (lambda: zoo.predict(model, bad), lambda: zoo.evaluate(model, bad, y),
                 lambda: zoo.explain(model, bad, "gradient"), lambda: zoo.attack(model, bad, y, eps=2),
                 lambda: adapt_classifier(model, images=bad, source="model 'simplenet'")):
        with pytest.raises(InvalidArgumentError) as err:
            call()
        messages.append(str(err.value))
    assert len(set(messages)) == 1 and "\n" not in messages[0]
    assert ("[0, 1]" in messages[0] and "multiply them by 255" in messages[0]) if scale == "unit" else \
        "standardized" in messages[0]
    assert zoo.predict(model, x).probs.shape == (16, 10)  # raw pixels pass


def test_a_model_without_its_own_scaling_is_not_second_guessed(images):
    x, y, _ = images
    plain = linear_classifier((28, 28, 1), 10)
    assert zoo.predict(plain, x / 255.0).probs.shape == (16, 10)


def test_export_accepts_an_in_memory_model_and_creates_its_folder(tmp_path, images):
    x, _, _ = images
    model = tiny_classifier()
    result = zoo.export(model, "tflite", tmp_path / "new" / "folder" / "tiny.tflite")
    assert (tmp_path / "new" / "folder" / "tiny.tflite").is_file()
    np.testing.assert_allclose(result.predict(x[:4]), model.predict(x[:4], verbose=0), atol=1e-3)
    assert sorted(p.name for p in (tmp_path / "new" / "folder").iterdir()) == ["tiny.tflite"]


def test_metadata_travels_inside_the_keras_file_and_plain_keras_loads_it(tmp_path):
    import keras

    info = zoo.model_info("lenet5")
    assert info.class_names[0] == "T-shirt/top" and info.pixel_range == (0.0, 255.0)
    assert info.dataset == "fashion_mnist" and info.recipe and info.gradcam_layer
    new = zoo.create_model("lenet5", pretrained=True, num_classes=2, class_names=["top", "bottom"])
    path = zoo.save_model(new, tmp_path / "sub" / "two.keras")
    plain = keras.saving.load_model(path)  # no zoo involved in loading
    assert plain.output.shape[-1] == 2
    again = zoo.model_info(path)
    assert again.class_names == ["top", "bottom"] and again.architecture == "lenet5"
    assert again.gradcam_layer == info.gradcam_layer and again.extra["fine_tuned_from"] == "lenet5"
    assert zoo.model_info(plain).gradcam_layer == info.gradcam_layer  # one rule for the layer


def test_explain_targets_by_index_name_true_and_per_image(images):
    x, y, names = images
    model = zoo.load_model("simplenet")
    assert (zoo.explain(model, x[:4], "gradient", targets="true", y=y[:4]).targets == y[:4]).all()
    assert (zoo.explain(model, x[:4], "gradient", targets="Trouser").targets == 1).all()
    assert (zoo.explain(model, x[:4], "gradient", targets=3).targets == 3).all()
    assert list(zoo.explain(model, x[:2], "gradient", targets=[0, "Bag"]).targets) == [0, 8]
    with pytest.raises(InvalidArgumentError, match="needs labelled images"):
        zoo.explain(model, x[:2], "gradient", targets="true")
    with pytest.raises(zoo.ZooError, match="Trousers"):
        zoo.explain(model, x[:2], "gradient", targets="Trousers")


def test_attack_eps_units_robust_accuracy_and_transfer(images):
    x, y, _ = images
    pixel = zoo.attack("simplenet", x, y, "fgsm", eps=8, transfer_to=["lenet5"])
    unit = zoo.attack("simplenet", x, y, "fgsm", eps=8 / 255, eps_scale="unit")
    assert np.abs(pixel.adversarial - x).max() <= 8 + 1e-4 and pixel.robust_accuracy <= pixel.clean_accuracy
    np.testing.assert_allclose(unit.adversarial, pixel.adversarial, atol=1e-3)
    assert set(pixel.transfer) == {"lenet5"} and 0 <= pixel.transfer["lenet5"] <= 1
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        zoo.attack("simplenet", x[:2], y[:2], "fgsm", eps=0.03)
    assert any('eps_scale="unit"' in str(w.message) for w in caught)
    with pytest.raises(InvalidArgumentError, match="class indices"):
        zoo.attack("simplenet", x[:2], ["a", "b"], "fgsm", eps=2)


def test_plots_return_figures(images):
    from matplotlib.figure import Figure

    x, y, _ = images
    assert isinstance(zoo.plots.heatmaps(zoo.explain("simplenet", x[:2], "gradcam", y=y[:2])), Figure)
    assert isinstance(zoo.plots.confusion(zoo.evaluate("simplenet", x, y)), Figure)
    assert isinstance(zoo.plots.curves([{"epoch": 0, "loss": 1.0, "accuracy": 0.5}]), Figure)
    result = zoo.attack("simplenet", x[:4], y[:4], "fgsm", eps=[2, 8])
    assert isinstance(zoo.plots.adversarial(result, rows=2), Figure) and isinstance(zoo.plots.robustness(result), Figure)


def test_train_rerun_names_python_keywords_and_overwrite_retrains(tmp_path, images):
    out = tmp_path / "run"
    first = zoo.train("lenet5", "fashion_mnist", epochs=1, limit=128, batch_size=64, out=out, progress=False)
    assert first.model is not None and len(first.history) == 1 and "accuracy" in first.metrics
    with pytest.raises(zoo.ZooError, match=r"overwrite=True") as err:
        zoo.train("lenet5", "fashion_mnist", epochs=1, limit=128, batch_size=64, out=out, progress=False)
    assert "--" not in str(err.value)
    again = zoo.train("lenet5", "fashion_mnist", epochs=1, limit=128, batch_size=64, out=out, overwrite=True,
                      progress=False)
    assert again.run_dir == first.run_dir and zoo.model_info(again.model).class_names[0] == "T-shirt/top"
    with pytest.raises(InvalidArgumentError, match="TrainConfig"):
        zoo.train("lenet5", epochs=1, out=tmp_path / "x", learning_rate=0.1)


def test_ensemble_of_models_leaves_members_untouched(images):
    x, y, _ = images
    names = lightest_shipped(2)
    a, b = (zoo.load_model(name) for name in names)
    ens = zoo.ensemble([a, b, names[0]])
    assert [a.name, b.name] == names
    assert 0 <= zoo.evaluate(ens, x, y)["accuracy"] <= 1

"""The shipped trained models: found by name, checked by sha256, as good as claimed, plain Keras files."""

import json
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest
from kit import fake_run, invoke, needs_real_fashion_mnist, tiny_classifier

import zoo
from zoo.errors import ModelFileError, UnknownNameError
from zoo.pretrained import architecture_of
from zoo.registry import MODELS, load_weights_manifest
from zoo.run import load_classifier, read_run_config, resolve_model_file

MANIFEST = load_weights_manifest()
SHIPPED = sorted(MANIFEST)
# The floors of the trained zoo (issue 10): each answers a row of the Fashion-MNIST benchmark.
FLOORS = {"lenet5": 0.900, "simplenet": 0.920, "alexnet_small": 0.920, "vgg_small": 0.935,
          "googlenet_small": 0.937, "resnet20": 0.945}
# the issue's training budget on this 2-core machine, for each model's own weights; another training
# of a model (a variant such as resnet20.seed1, an ensemble member) must meet the model's floor
BUDGET_SECONDS = 75 * 60
# Shipped although they miss the floor or the budget on this (AVX2-only) machine, so issue 10 stays
# open for them. Each must really miss: a retrain that makes it has to remove its entry.
SHORT_OF_THE_GOAL: set[str] = set()


def _finished_run(tmp_path, **options):
    """A finished run of lenet5's fashion_mnist recipe with ``options`` on top, as ship_run reads it."""
    from zoo.training.config import recipe_config, resolve

    config = resolve(recipe_config("lenet5", "fashion_mnist", **options)).to_dict()
    config.update(input_shape=[28, 28, 1], dataset_sizes={"train": 54_000, "val": 6_000, "test": 10_000})
    return fake_run(tmp_path, tiny_classifier(), name="run", **config,
                    metrics={"split": "test", "samples": 10_000, "accuracy": 0.91, "per_class": {}})


def test_another_training_of_a_model_ships_as_model_dot_tag(tmp_path):
    from zoo.errors import InvalidArgumentError
    from zoo.shipping import ship_run

    run, weights = _finished_run(tmp_path, seed=1, split_seed=0), tmp_path / "weights"
    weights.mkdir()
    command = "zoo train lenet5 --recipe fashion_mnist --seed 1 --split-seed 0"
    entry = ship_run(run, command=command, weights_dir=weights, recipe="fashion_mnist", name="lenet5.seed1",
                     overrides={"seed": 1, "split_seed": 0})
    manifest = json.loads((weights / "manifest.json").read_text())["models"]
    assert list(manifest) == ["lenet5.seed1"] and entry["file"] == "lenet5.seed1-fashion_mnist.keras"
    assert entry["overrides"] == {"seed": 1, "split_seed": 0} and entry["config"]["split_seed"] == 0
    assert (weights / entry["file"]).is_file() and architecture_of("lenet5.seed1") == "lenet5"
    refused = [  # (what is wrong, the call's changed arguments, what the message must say)
        ("the recipe alone is not how it trained", {"overrides": {}}, "seed: run 1 vs recipe 0"),
        ("the command hides the seed", {"command": "zoo train lenet5 --recipe fashion_mnist"}, "--seed 1"),
        ("another model's name", {"name": "resnet20.seed1"}, "lenet5.TAG"),
        ("a tag that is no tag", {"name": "lenet5-seed1"}, "lenet5.TAG"),
    ]
    for why, changed, says in refused:
        options = {**dict(command=command, weights_dir=weights, recipe="fashion_mnist", name="lenet5.seed2",
                          overrides={"seed": 1, "split_seed": 0}), **changed}
        with pytest.raises(InvalidArgumentError, match=re.escape(says)):
            ship_run(run, **options)
        assert "lenet5.seed2" not in json.loads((weights / "manifest.json").read_text())["models"], why


def test_manifest_entries_resolve_by_name():
    assert "simplenet" in MANIFEST and MODELS.get("simplenet").weights_shipped
    for name, entry in MANIFEST.items():
        assert resolve_model_file(name).name == entry["file"]
        assert read_run_config(name)["class_names"] == entry["config"]["class_names"]


@pytest.mark.parametrize("name", SHIPPED)
def test_manifest_records_what_the_issue_asks(name):
    entry = MANIFEST[name]
    for key in ("file", "sha256", "size_bytes", "metrics", "train_seconds", "machine", "command", "versions",
                "recipe", "config", "train_options"):
        assert entry.get(key) is not None, key
    assert set(entry["metrics"]["per_class"]) == set(entry["config"]["class_names"])
    assert entry["metrics"]["test_samples"] == 10_000
    assert set(entry["versions"]) == {"zoo", "keras", "tensorflow"}
    in_budget = entry["train_seconds"] <= BUDGET_SECONDS or name != architecture_of(name)
    meets = in_budget and entry["metrics"]["test_accuracy"] >= FLOORS.get(architecture_of(name), 0.0)
    assert meets != (name in SHORT_OF_THE_GOAL), (name, entry["train_seconds"], entry["metrics"]["test_accuracy"])
    assert resolve_model_file(name).stat().st_size == entry["size_bytes"]


@pytest.mark.parametrize("name", SHIPPED)
def test_the_recipe_reproduces_the_shipped_run_settings(name):
    from zoo.training.config import recipe_config, resolve

    from zoo.shipping import override_flags

    entry = MANIFEST[name]
    model, overrides = architecture_of(name), entry.get("overrides", {})
    assert entry["config"]["model"] == model and entry["command"].startswith(f"zoo train {model} ")
    assert f"--recipe {entry['recipe']}" in entry["command"]
    assert all(flag in entry["command"] for flag in override_flags(overrides))  # e.g. --seed 1 --split-seed 0
    config = resolve(recipe_config(model, entry["recipe"], **overrides)).to_dict()
    for key, value in entry["config"].items():
        if key not in ("class_names", "num_classes"):  # those come from the data, not the recipe
            assert config[key] == value, key
    for key, value in entry["train_options"].items():  # every option the shipped run trained with
        assert config[key] == value, key


@needs_real_fashion_mnist
@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_model_reproduces_its_recorded_test_accuracy(name, tmp_path):
    entry = MANIFEST[name]
    result = invoke("eval", name, "--out", str(tmp_path), "--json")
    assert result.exit_code == 0, result.output
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["samples"] == 10_000
    assert metrics["accuracy"] == pytest.approx(entry["metrics"]["test_accuracy"], abs=5e-4)
    model, names = load_classifier(name)
    assert names[0] == "T-shirt/top" and tuple(model.inputs[0].shape[1:]) == tuple(entry["config"]["input_shape"])


PLAIN_KERAS = """
import sys
import keras, numpy as np
model = keras.saving.load_model(sys.argv[1], compile=False)
np.save(sys.argv[3], model.predict(np.load(sys.argv[2]), verbose=0))
assert not [m for m in sys.modules if m == "zoo" or m.startswith("zoo.")], "zoo was imported"
"""


@pytest.mark.parametrize("name", SHIPPED)
def test_plain_keras_loads_every_shipped_file_without_zoo(name, tmp_path):
    model, _ = load_classifier(name)
    x = np.random.default_rng(0).uniform(0, 255, (8, *model.inputs[0].shape[1:])).astype("float32")
    np.save(tmp_path / "x.npy", x)
    # Run from an empty folder with only the standard paths, so `import zoo` could not even be found
    # by accident through the working directory.
    proc = subprocess.run([sys.executable, "-c", PLAIN_KERAS, str(resolve_model_file(name)), str(tmp_path / "x.npy"),
                           str(tmp_path / "y.npy")], cwd=tmp_path, capture_output=True, text=True, timeout=300,
                          env={"PATH": "/usr/bin:/bin", "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""})
    assert proc.returncode == 0, proc.stderr[-2000:]
    np.testing.assert_allclose(np.load(tmp_path / "y.npy"), model.predict(x, verbose=0), rtol=1e-5, atol=1e-5)


def _damaged_copy(tmp_path, monkeypatch, name, damage):
    import zoo.pretrained

    entry = MANIFEST[name]
    copy = tmp_path / entry["file"]
    shutil.copy(resolve_model_file(name), copy)
    damage(copy)
    monkeypatch.setattr(zoo.pretrained, "weights_path", lambda e: tmp_path / e["file"])
    return copy


def _flip_one_byte(path):
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def test_one_changed_byte_makes_loading_fail_with_the_file_name(tmp_path, monkeypatch):
    copy = _damaged_copy(tmp_path, monkeypatch, "simplenet", _flip_one_byte)
    with pytest.raises(ModelFileError, match="damaged") as info:
        zoo.create_model("simplenet", pretrained=True)
    assert str(copy) in str(info.value)
    result = invoke("eval", "simplenet")
    assert result.exit_code != 0 and "damaged" in result.output and "Traceback" not in result.output
    result = invoke("weights", "verify")
    assert result.exit_code != 0 and "FAILED  simplenet" in result.output


def test_a_missing_shipped_file_is_a_clear_error(tmp_path, monkeypatch):
    _damaged_copy(tmp_path, monkeypatch, "simplenet", lambda p: p.unlink())
    with pytest.raises(ModelFileError, match="missing.*simplenet-fashion_mnist.keras"):
        resolve_model_file("simplenet")


def test_weights_verify_passes_and_lists_every_shipped_model():
    result = invoke("weights", "verify")
    assert result.exit_code == 0, result.output
    assert all(f"ok      {name}" in result.output for name in SHIPPED)
    listing = invoke("weights")
    assert listing.exit_code == 0 and all(name in listing.output for name in SHIPPED)


@needs_real_fashion_mnist
def test_weights_verify_accuracy_remeasures(monkeypatch, tmp_path):
    import zoo.pretrained
    import zoo.shipping

    monkeypatch.setattr(zoo.registry, "load_weights_manifest", lambda: {
        "simplenet": dict(MANIFEST["simplenet"], metrics=dict(MANIFEST["simplenet"]["metrics"], test_accuracy=0.5))})
    monkeypatch.setattr(zoo.pretrained, "load_weights_manifest", zoo.registry.load_weights_manifest)
    monkeypatch.setattr(zoo.shipping, "load_weights_manifest", zoo.registry.load_weights_manifest)
    (tmp_path / "simplenet").mkdir()  # a local folder of the same name must not be what is measured
    monkeypatch.chdir(tmp_path)
    rows = zoo.shipping.verify_weights(accuracy=True)
    assert not rows[0].ok and "differs" in rows[0].problem
    assert rows[0].measured_accuracy == pytest.approx(MANIFEST["simplenet"]["metrics"]["test_accuracy"], abs=5e-4)


def test_top_level_api_returns_plain_trained_keras_models():
    import keras

    assert zoo.list_models(pretrained=True) == [n for n in zoo.list_models() if n in MANIFEST]
    model = zoo.create_model("simplenet", pretrained=True)
    assert isinstance(model, keras.Model) and sum(int(np.prod(w.shape)) for w in model.trainable_weights) == 233_196
    fresh = zoo.create_model("simplenet")
    assert not np.allclose(fresh.get_layer("conv1").get_weights()[0], model.get_layer("conv1").get_weights()[0])
    with pytest.raises(UnknownNameError, match="No trained weights ship for 'resnet152'"):
        zoo.create_model("resnet152", pretrained=True)
    new_head = zoo.create_model("simplenet", pretrained=True, num_classes=3)  # an independent copy, a new head (#21)
    assert new_head.output.shape[-1] == 3 and model.output.shape[-1] == 10


def test_importing_zoo_does_not_import_tensorflow():
    code = "import zoo, sys; zoo.list_models; assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True).returncode == 0


def test_a_local_path_wins_over_a_shipped_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "simplenet").mkdir()
    with pytest.raises(ModelFileError, match="directory without model.keras"):
        resolve_model_file("simplenet")


@needs_real_fashion_mnist
def test_shipped_tta_accuracy_is_what_the_manifest_says():
    """The TTA figures beside the single-view ones are measured, not written by hand (lenet5: the quickest)."""
    entry = MANIFEST["lenet5"]
    result = invoke("eval", "lenet5", "--tta", "flip", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["tta"] == "flip" and report["single_view_accuracy"] == pytest.approx(
        entry["metrics"]["test_accuracy"], abs=5e-4)
    assert report["accuracy"] == pytest.approx(entry["metrics"]["test_accuracy_tta"]["flip"], abs=5e-4)

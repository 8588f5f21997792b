"""Training recipes in the registry: valid options, and `zoo train --recipe` with overrides on top."""

import json

import pytest
from kit import invoke, resolved_config

from zoo.errors import UnknownNameError
from zoo.pretrained import architecture_of
from zoo.registry import get_recipe, list_models, load_weights_manifest
from zoo.training.config import TrainConfig, recipe_config, resolve

WITH_RECIPES = [(s.name, r) for s in list_models() for r in s.recipes]


def test_every_model_to_be_shipped_has_a_recipe():
    names = {name for name, _ in WITH_RECIPES}
    assert {architecture_of(name) for name in load_weights_manifest()} <= names  # resnet20.seed1: resnet20's


@pytest.mark.parametrize("name,recipe", WITH_RECIPES)
def test_recipes_name_real_options_and_resolve(name, recipe):
    config = resolve(recipe_config(name, recipe))
    options = get_recipe(name, recipe)
    for key, value in options.items():
        got = getattr(config, key)
        assert (list(got) if isinstance(got, tuple) else got) == (list(value) if isinstance(value, tuple) else value)
    assert config.recipe == recipe and isinstance(config, TrainConfig)


def test_an_unknown_recipe_lists_the_close_ones():
    with pytest.raises(UnknownNameError, match="Did you mean: fashion_mnist"):
        recipe_config("lenet5", "fashion-mnist")


def test_cli_recipe_fills_what_the_user_did_not_type(tmp_path):
    out = tmp_path / "run"
    result = invoke("train", "lenet5", "--recipe", "fashion_mnist", "--epochs", "1", "--limit",
                    "128", "--lr", "0.001", "--quiet", "--out", str(out))
    assert result.exit_code == 0, result.output
    config = json.loads((out / "config.json").read_text())
    recipe = get_recipe("lenet5", "fashion_mnist")
    assert config["recipe"] == "fashion_mnist"
    assert (config["epochs"], config["lr"], config["limit"]) == (1, 0.001, 128)  # typed: kept
    assert config["augment"] == recipe["augment"] and config["schedule"] == recipe["schedule"]  # from the recipe
    assert config["optimizer"] == recipe["optimizer"] and config["input_shape"] == list(recipe["input_shape"])


def test_recipe_epochs_apply_to_a_new_run_started_with_resume():
    # `zoo train M --recipe R --resume` leaves epochs unset (a resumed run keeps its own), so a
    # new run must still get the recipe's epochs, not the model family's default
    for name, recipe in WITH_RECIPES:
        config = resolved_config(name, recipe=recipe, epochs=None)
        assert config.epochs == get_recipe(name, recipe)["epochs"], name

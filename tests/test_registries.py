"""Explain methods and attacks are records: the registry is the single list the code, the CLI and
the tests read, and a new record is all a new method needs."""

import numpy as np
import pytest
from kit import (add_record, each, invoke, linear_classifier, run_attack_test, run_explain_method_test, run_model_test,
                 run_source_test, write_npz)

from zoo.attack.registry import ATTACKS, AttackSettings, resolve_settings
from zoo.errors import UnknownNameError
from zoo.explain.registry import EXPLAIN_METHODS, ExplainMethod, Explanation, Setting, resolve_methods

# (alias as written, the method it names): every alias of every record, as given and in capitals
ALIASES = [(spelled, m.name) for m in EXPLAIN_METHODS for alias in m.aliases
           for spelled in (alias, alias.upper())]


def test_the_registries_list_in_their_order():
    assert [m.order for m in EXPLAIN_METHODS] == sorted(m.order for m in EXPLAIN_METHODS)
    assert resolve_methods("all") == [name for name, m in EXPLAIN_METHODS.records().items() if m.in_all]
    assert [a.strength for a in ATTACKS] == sorted(a.strength for a in ATTACKS)  # weakest first


@each("attack")
def test_every_attack_record_owns_its_algorithm(attack):
    run_attack_test(attack)


@each("explain", "method")
def test_every_explain_record_is_reachable_and_maps_every_image(method):
    run_explain_method_test(method)


@each("model", "spec")
def test_every_model_record_keeps_the_zoos_conventions(spec):
    run_model_test(spec, input_shape=None if spec.small_input else (64, 64, 3), num_classes=3)


@each("source")
def test_every_data_source_answers_its_specs(source):
    run_source_test(source)


@pytest.mark.parametrize("alias, name", ALIASES)
def test_aliases_resolve_to_their_method(alias, name):
    assert resolve_methods(alias) == [name]


def test_a_typo_gets_close_matches_from_the_registry():
    with pytest.raises(UnknownNameError, match="gradcam"):
        resolve_methods("gradcma")


def test_a_new_record_is_dispatched_listed_and_checked(monkeypatch):
    """What a contributor's new file does: register a record. Nothing else has to change."""
    from zoo.explain import Explainer

    def constant(explainer, images, targets, settings):
        return Explanation("constant", np.full(images.shape[:3], settings["level"]), None)

    level = Setting("level", 1.0, lambda v: float(v), "Constant: the value of every pixel.")
    record = ExplainMethod("constant", "Constant", constant, "every pixel the same", settings=(level,), order=5)
    add_record(monkeypatch, "explain", record)
    assert resolve_methods("all")[0] == "constant" and resolve_methods("Constant") == ["constant"]
    model = linear_classifier((4, 4, 1), 2)
    ex = Explainer(model, level=3.0).explain("constant", np.zeros((2, 4, 4, 1), "float32"), [0, 1])
    assert ex.heatmaps.shape == (2, 4, 4) and (ex.heatmaps == 3.0).all()


def test_settings_are_checked_by_their_record():
    from zoo.explain.registry import check_settings
    from zoo.errors import InvalidArgumentError

    assert check_settings()["smoothgrad"]["samples"] == 50
    assert check_settings(steps=7)["integrated-gradients"]["steps"] == 7
    with pytest.raises(InvalidArgumentError, match="^samples must be a positive integer"):
        check_settings(samples=0)
    with pytest.raises(InvalidArgumentError, match="Unknown explain setting"):
        check_settings(sample=5)


@pytest.mark.parametrize("name", ATTACKS.names())
def test_every_attack_resolves_settings_inside_the_budget(name):
    s = resolve_settings(name, 8)
    assert isinstance(s, AttackSettings) and s.method == name and s.eps == 8.0
    assert s.steps >= 1 and 0 < s.step_size <= 2 * 8.0
    assert ATTACKS.get(name).single_step == (s.steps == 1)
    assert resolve_settings(name.upper().replace("-", "_"), 8).method == name  # any case, _ for -


def test_settings_are_namespaced_per_method(monkeypatch):
    """A new method's `steps` keeps its own default and check: the first registration does not win."""
    from zoo.explain.registry import check_settings

    steps = Setting("steps", 3, lambda v: int(v), "Other: its own steps.", int)
    record = ExplainMethod("other", "Other", lambda *a: None, "a method with steps", settings=(steps,))
    add_record(monkeypatch, "explain", record)
    values = check_settings()
    assert values["other"]["steps"] == 3 and values["integrated-gradients"]["steps"] == 50
    values = check_settings(**{"other.steps": 9})
    assert values["other"]["steps"] == 9 and values["integrated-gradients"]["steps"] == 50
    assert check_settings(steps=7)["other"]["steps"] == 7  # a bare name: every method that has it


def test_the_cli_help_lists_the_registered_methods():
    explain_help = invoke("explain", "--help", terminal_width=200).output
    attack_help = invoke("attack", "--help", terminal_width=200).output
    assert all(name in explain_help for name in EXPLAIN_METHODS.names())
    assert all(name in attack_help for name in ATTACKS.names())


def test_a_new_data_source_is_one_record(monkeypatch, tmp_path):
    """A `zoo/data/<name>_source.py` file registers a Source; load_dataset and `zoo datasets` read it."""
    from zoo.data import sources
    from zoo.data.npz_source import load_npz

    def load(arg, *, data_dir=None, download=False, on_bad_image="fail", **split_args):
        path = write_npz(tmp_path / f"random-{arg}.npz", 40, (8, 8), 4, seed=int(arg))
        return load_npz(path, **split_args)

    template = {"name": "random:SEED", "title": "random pixels", "classes": None, "found": None,
                "where": "generated", "sizes": {}}
    add_record(monkeypatch, "source", sources.Source(usage="random:SEED", prefix="random", load=load,
                                                     template=template, order=99))
    data = sources.load_dataset("random:3", val_fraction=0.25)
    assert data.num_classes == 4 and data.sizes["train"] == 30 and data.sizes["val"] == 10
    assert sources.available_datasets()[-1]["name"] == "random:SEED"
    with pytest.raises(UnknownNameError, match="random:SEED"):
        sources.load_dataset("randm")


def test_the_sources_answer_their_specs():
    from zoo.data.sources import SOURCES, resolve_spec

    for key in ("usage", "prefix"):  # no two sources claim the same spec
        claimed = [getattr(s, key) for s in SOURCES if getattr(s, key)]
        assert len(claimed) == len(set(claimed)), claimed
    assert resolve_spec("Fashion-MNIST")[1] == "fashion_mnist" and resolve_spec("fmnist")[1] == "fashion_mnist"
    assert resolve_spec("tfds:cifar10")[0].prefix == "tfds" and resolve_spec("tfds:cifar10")[1] == "cifar10"


def test_any_setting_reaches_the_cli_through_set():
    from zoo.errors import InvalidArgumentError
    from zoo.explain.registry import parse_setting

    assert parse_setting("steps=20") == ("steps", 20) and parse_setting("noise = 0.2") == ("noise", 0.2)
    assert parse_setting("layer=conv2") == ("layer", "conv2")
    assert parse_setting("ig.max_steps=400") == ("integrated-gradients.max_steps", 400)
    with pytest.raises(InvalidArgumentError, match="NAME one of .*layer, max_steps, noise, patch, samples"):
        parse_setting("stepz=3")
    with pytest.raises(InvalidArgumentError, match="--set steps needs an integer; got 'many'"):
        parse_setting("steps=many")

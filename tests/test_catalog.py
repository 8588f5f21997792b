"""zoo/catalog.json (what `zoo models` reads instead of counting) matches the live registry."""

import pytest
from kit import run_python

from zoo.catalog import catalog_order, catalog_rows, load_catalog
from zoo.flops import model_stats
from zoo.registry import list_models

CATALOG = load_catalog()


def test_the_catalogue_lists_exactly_the_registry_in_catalogue_order():
    specs = sorted(list_models(), key=catalog_order)
    assert list(CATALOG) == [s.name for s in specs], "stale catalogue: run `python -m zoo.catalog`"


@pytest.mark.parametrize("spec", list_models(), ids=lambda s: s.name)
def test_catalogue_rows_equal_the_live_counts_and_registry_facts(spec):
    row = CATALOG[spec.name]
    stats = model_stats(spec.name)
    assert (row["trainable_params"], row["non_trainable_params"], row["flops"]) == (
        stats.trainable_params, stats.non_trainable_params, stats.flops), "run `python -m zoo.catalog`"
    assert (row["family"], tuple(row["input_shape"]), row["num_classes"], row["small_input"], row["paper"],
            row["last_conv"], row["recipes"]) == (spec.family, spec.input_shape, spec.num_classes,
                                                  spec.small_input, spec.paper, spec.last_conv, sorted(spec.recipes))


def test_zoo_models_imports_no_tensorflow():
    code = ("import sys; from typer.testing import CliRunner; from zoo.cli.main import app; "
            "r = CliRunner().invoke(app, ['models', 'resnet']); assert r.exit_code == 0, r.output; "
            "assert 'resnet20' in r.output and 'lenet5' not in r.output; "
            "assert 'tensorflow' not in sys.modules, 'tensorflow was imported'")
    proc = run_python(code)
    assert proc.returncode == 0, proc.stderr[-1500:]


def test_shipped_column_follows_the_manifest():
    from zoo.pretrained import architecture_of
    from zoo.registry import load_weights_manifest

    shipped = {row["name"] for row in catalog_rows() if row["weights_shipped"]}
    assert shipped == {architecture_of(name) for name in load_weights_manifest()}
    assert shipped <= set(load_weights_manifest())  # a model ships under its own name before any variant


def test_zoo_info_at_the_default_shape_is_cached_after_the_first_call(tmp_path):
    code = ("import sys; from typer.testing import CliRunner; from zoo.cli.main import app; "
            "r = CliRunner().invoke(app, ['info', 'lenet5']); assert r.exit_code == 0, r.output; "
            "assert 'conv1' in r.output and '61,706' in r.output; print('tensorflow' in sys.modules)")
    env = {**__import__("os").environ, "XDG_CACHE_HOME": str(tmp_path)}
    first = run_python(code, env=env)
    second = run_python(code, env=env)
    assert first.returncode == 0 and second.returncode == 0, first.stderr[-1500:] + second.stderr[-1500:]
    assert first.stdout.split()[-1] == "True" and second.stdout.split()[-1] == "False"
    assert list((tmp_path / "zoo" / "summaries").glob("lenet5-*.txt"))

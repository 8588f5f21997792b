"""zoo.checks: one wording for every refused value; the library names the parameter, the CLI the flag."""

import math
import re

import numpy as np
import pytest
from kit import ROOT, invoke

from zoo import checks
from zoo.errors import InvalidArgumentError, UnknownNameError


@pytest.mark.parametrize("value", [1, 7, 3.0, np.int64(5)])
def test_positive_int_accepts_whole_positive_numbers(value):
    assert checks.positive_int(value, "n") == int(value) and type(checks.positive_int(value, "n")) is int


@pytest.mark.parametrize("value", [0, -1, 2.5, True, "3", None, math.inf, math.nan])
def test_positive_int_refuses_the_rest_naming_the_parameter_and_the_value(value):
    with pytest.raises(InvalidArgumentError) as info:
        checks.positive_int(value, "batch_size")
    assert str(info.value) == f"batch_size must be a positive integer; got {value!r}."
    assert info.value.worded("--batch-size").startswith("--batch-size must be a positive integer")


@pytest.mark.parametrize("value, ok", [(0.0, True), (0.5, True), (1.0, False), (-0.1, False), (math.nan, False)])
def test_fraction_is_half_open_by_default(value, ok):
    if ok:
        assert checks.fraction(value, "val_split") == value
    else:
        with pytest.raises(InvalidArgumentError, match=r"val_split must be in \[0, 1\)"):
            checks.fraction(value, "val_split")


def test_fraction_can_include_one_and_raise_its_floor():
    assert checks.fraction(1, "adv_ratio", include_one=True) == 1.0
    with pytest.raises(InvalidArgumentError, match=r"gamma must be in \[0.5, 1\)"):
        checks.fraction(0.2, "gamma", low=0.5)


def test_int_between_and_non_negative():
    assert checks.int_between(4, "draws", 1, 4) == 4
    with pytest.raises(InvalidArgumentError, match="draws must be an integer between 1 and 4; got 5"):
        checks.int_between(5, "draws", 1, 4)
    assert checks.non_negative(0, "weight_decay") == 0
    with pytest.raises(InvalidArgumentError, match="weight_decay must be >= 0; got -1"):
        checks.non_negative(-1, "weight_decay")


def test_choice_ignores_case_and_dashes_and_suggests_close_names():
    assert checks.choice("Mixed-BFloat16", "precision", ("float32", "mixed_bfloat16")) == "mixed_bfloat16"
    with pytest.raises(UnknownNameError, match=r"Unknown optimizer 'adamm' for optimizer\. Did you mean: adam"):
        checks.choice("adamm", "optimizer", ("adam", "sgd", "adamw"))


def test_a_value_with_braces_is_printed_as_received():
    with pytest.raises(InvalidArgumentError) as info:
        checks.positive_int("{0}", "n")
    assert info.value.worded("--n") == "--n must be a positive integer; got '{0}'."


def test_the_cli_shows_the_flag_the_python_api_the_parameter():
    from zoo.training.config import TrainConfig, resolve

    with pytest.raises(InvalidArgumentError, match="^plateau_patience must be a positive integer"):
        resolve(TrainConfig(model="lenet5", plateau_patience=0))
    result = invoke("train", "lenet5", "--plateau-patience", "0", "--out", "/nonexistent/x")
    assert result.exit_code != 0
    assert "--plateau-patience must be a positive integer; got 0." in " ".join(result.output.split())


# the wordings that zoo.checks owns: written anywhere else they would drift apart again
OWNED = re.compile(r"must be a positive (integer|number)|must be at least 1;|must be in \[|must be an integer between")


def test_no_module_words_these_checks_by_hand():
    offenders = [
        f"{path.relative_to(ROOT)}:{i}"
        for folder in ("zoo", "cli")
        for path in sorted((ROOT / folder).rglob("*.py")) if path.name != "checks.py"
        for i, line in enumerate(path.read_text().splitlines(), 1) if OWNED.search(line)
    ]
    assert offenders == []

import pytest
from kit import records

from zoo.errors import UnknownNameError, InvalidArgumentError, close_matches_hint
from zoo.registry import check_input_shape


def test_close_matches_hint_suggests_neighbours():
    assert "resnet18" in close_matches_hint("resnet81", [spec.name for spec in records("model")])


def test_close_matches_hint_lists_choices_when_nothing_close():
    hint = close_matches_hint("zzzz", ["a1", "b2"])
    assert "a1" in hint and "b2" in hint


@pytest.mark.parametrize("bad", [(28, 28), (28, 28, 2), (0, 28, 1), ("a", 1, 1), None])
def test_check_input_shape_rejects(bad):
    with pytest.raises(InvalidArgumentError, match="Input shape"):
        check_input_shape(bad)


def test_check_input_shape_accepts_strings_of_ints():
    assert check_input_shape(["32", "32", "3"]) == (32, 32, 3)

"""Checks of user-given values, worded once for the whole zoo.

The library names a parameter as Python spells it (``batch_size``); the CLI knows the flag and
shows it as ``--batch-size`` (``cli.common.friendly_errors`` reads the error's ``param``). So a
value is refused with the same sentence by ``TrainConfig``, the explain and attack settings and
every command.
"""

from __future__ import annotations

import math
import numbers

from zoo.errors import PARAM, InvalidArgumentError, UnknownNameError, close_matches_hint


def is_number(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def positive_int(value, name: str, *, note: str = "") -> int:
    """``value`` as an int >= 1; ``note`` (e.g. " (SmoothGrad uses 50)") follows the rule."""
    if not (is_number(value) and math.isfinite(value) and value >= 1 and int(value) == value):
        raise InvalidArgumentError(f"{PARAM} must be a positive integer{note}; got {value!r}.", param=name)
    return int(value)


def positive_number(value, name: str, *, note: str = "") -> float:
    """``value`` as a finite float > 0."""
    if not (is_number(value) and math.isfinite(value) and value > 0):
        raise InvalidArgumentError(f"{PARAM} must be a positive number{note}; got {value!r}.", param=name)
    return float(value)


def int_between(value, name: str, low: int, high: int) -> int:
    """``value`` as an int in [low, high]."""
    if not (is_number(value) and math.isfinite(value) and int(value) == value and low <= value <= high):
        raise InvalidArgumentError(f"{PARAM} must be an integer between {low} and {high}; got {value!r}.",
                                   param=name)
    return int(value)


def fraction(value, name: str, *, low: float = 0.0, include_one: bool = False) -> float:
    """``value`` as a float in [low, 1) (or [low, 1] with ``include_one``)."""
    ok = is_number(value) and math.isfinite(value) and low <= value and (value <= 1 if include_one else value < 1)
    if not ok:
        interval = f"[{low:g}, 1{']' if include_one else ')'}"
        raise InvalidArgumentError(f"{PARAM} must be in {interval}; got {value!r}.", param=name)
    return float(value)


def choice(value, name: str, choices, *, what: str | None = None) -> str:
    """The entry of ``choices`` that ``value`` names; case and ``-``/``_`` do not matter.

    ``what`` says what the choices are ("optimizer") when the parameter's name does not.
    """
    def norm(text) -> str:
        return str(text).lower().replace("-", "_")

    by_norm = {norm(c): c for c in choices}
    if norm(value) in by_norm:
        return by_norm[norm(value)]
    raise UnknownNameError(f"Unknown {what or name} {value!r} for {PARAM}." + close_matches_hint(str(value), choices),
                           param=name)


def non_negative(value, name: str) -> float:
    """``value`` as a finite float >= 0."""
    if not (is_number(value) and math.isfinite(value) and value >= 0):
        raise InvalidArgumentError(f"{PARAM} must be >= 0; got {value!r}.", param=name)
    return float(value) if not isinstance(value, int) else value


def class_index(text, class_names, name: str = "target", *, keywords=()) -> int:
    """The index of the class ``text`` names: its name (exact, then any case) or its index.

    ``keywords`` are the other words the parameter accepts (e.g. "predicted"), listed in the
    refusal so a typo of one of them gets its suggestion too.
    """
    names = [str(c) for c in class_names]
    key = str(text).strip()
    if key in names:
        return names.index(key)
    lowered = [c.lower() for c in names]
    if key.lower() in lowered:
        return lowered.index(key.lower())
    if key.lstrip("-").isdigit():
        index = int(key)
        if 0 <= index < len(names):
            return index
        raise InvalidArgumentError(
            f"{PARAM} {index} is not a class index of this model: it has classes 0..{len(names) - 1}.", param=name)
    takes = ", ".join([*keywords, "a class name or an index"])
    raise UnknownNameError(f"The model has no class {key!r} ({PARAM} takes {takes})."
                           + close_matches_hint(key, [*names, *keywords]), param=name)

"""Explain methods as records: one file in ``zoo/explain/methods/`` registers each.

A record says what the CLI, the docs and the tests need to know: the name and its aliases, the
title drawn on figures, the settings it reads (each with its default, its check and its help) and
the function that computes the maps. ``Explainer`` dispatches through it; ``--method`` choices,
the help texts and the parametrized tests read it, as the model registry is read for models.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

from zoo.errors import InvalidArgumentError, UnknownNameError, close_matches_hint

if TYPE_CHECKING:  # numpy is not imported to read the registry (the CLI builds its help from it)
    import numpy as np


@dataclass
class Explanation:
    """Maps of one method for N images."""

    method: str
    heatmaps: np.ndarray  # (N, H, W) non-negative, what the figures show
    attributions: np.ndarray | None  # (N, H, W, C) signed values, when the method has them
    info: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Setting:
    """A setting one or more methods read: ``--name`` on the command line, ``name=`` in Python."""

    name: str
    default: object
    check: Callable | None  # value -> value, or a ZooError naming the setting
    help: str
    kind: Callable = str  # how `--set name=TEXT` reads the text: int, float or str


@dataclass(frozen=True)
class ExplainMethod:
    name: str
    title: str  # on figures and in reports
    compute: Callable  # (explainer, images, targets) -> Explanation
    summary: str  # one line: what the map shows, and the paper
    aliases: tuple[str, ...] = ()
    settings: tuple[Setting, ...] = ()
    in_all: bool = True  # one of the maps `--method all` draws
    order: int = 100  # position in figures and listings (simple methods first)
    describe: Callable | None = None  # Explanation.info -> what a figure title adds, e.g. " (50 steps)"


_METHODS: dict[str, ExplainMethod] = {}


def register(method: ExplainMethod) -> ExplainMethod:
    if method.name in _METHODS:
        raise ValueError(f"explain method {method.name!r} is registered twice")
    _METHODS[method.name] = method
    return method


def _ensure_loaded() -> None:
    # Every module of zoo.explain.methods registers its method(s) when imported: a new method is
    # a new file there, nothing else to edit.
    import zoo.explain.methods as package

    for info in pkgutil.iter_modules(package.__path__):
        importlib.import_module(f"{package.__name__}.{info.name}")


def explain_methods() -> dict[str, ExplainMethod]:
    """Name -> record, in the order the figures draw them."""
    _ensure_loaded()
    return dict(sorted(_METHODS.items(), key=lambda kv: (kv[1].order, kv[0])))


def settings() -> dict[str, Setting]:
    """Every setting of every method, by name (methods may share one, as SmoothGrad's two forms do)."""
    found: dict[str, Setting] = {}
    for method in explain_methods().values():
        for s in method.settings:
            found.setdefault(s.name, s)
    return found


def get_method(name: str) -> ExplainMethod:
    methods = explain_methods()
    key = str(name).strip().lower()
    for m in methods.values():
        if key == m.name or key in m.aliases:
            return m
    raise UnknownNameError(f"Unknown explanation method {name!r}." + close_matches_hint(key, (*methods, "all")))


def resolve_methods(method: str) -> list[str]:
    """'all' -> the methods `--method all` draws; a name or alias -> [name]; else close matches."""
    if str(method).strip().lower() == "all":
        return [m.name for m in explain_methods().values() if m.in_all]
    return [get_method(method).name]


def parse_setting(text: str) -> tuple[str, object]:
    """'steps=20' -> ('steps', 20), read with the setting's own kind (for `zoo explain --set`)."""
    name, sep, value = str(text).partition("=")
    name = name.strip().replace("-", "_")
    known = settings()
    if not sep or name not in known:
        raise InvalidArgumentError(f"--set takes NAME=VALUE with NAME one of {', '.join(sorted(known))}; "
                                   f"got {text!r}.")
    try:
        return name, known[name].kind(value.strip())
    except ValueError:
        wanted = {int: "an integer", float: "a number"}.get(known[name].kind, "a value")
        raise InvalidArgumentError(f"--set {name} needs {wanted}; got {value.strip()!r}.") from None


def check_settings(**given) -> dict:
    """Every method setting, checked, with the registry's default for those not given."""
    known = settings()
    unknown = sorted(set(given) - set(known))
    if unknown:
        raise InvalidArgumentError(f"Unknown explain setting(s) {', '.join(unknown)}; "
                                   f"the methods take {', '.join(sorted(known))}.")
    values = {}
    for name, s in known.items():
        value = given.get(name, s.default)
        values[name] = s.check(value) if s.check is not None and value is not None else value
    return values

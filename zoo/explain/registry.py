"""Explain methods as records: one file in ``zoo/explain/methods/`` registers each.

A record says what the CLI, the docs and the tests need to know: the name and its aliases, the
title drawn on figures, the settings it reads (its own: each with its default, its check and its
help, in the method's namespace, as tf-keras-vis gives each method its own call's arguments), the
function that computes the maps and two hooks for its quirks: ``prepare`` (what it needs from the
model, checked before any work: Grad-CAM's layer) and ``report`` (what it adds to explain.json and
to the printed summary: Integrated Gradients' completeness). ``Explainer`` dispatches through it;
``--method`` choices, the help texts, the report and the parametrized tests read it, as the model
registry is read for models.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

from zoo.errors import InvalidArgumentError
from zoo.records import Registry, import_package

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
    compute: Callable  # (explainer, images, targets, settings) -> Explanation; settings: this method's own
    summary: str  # one line: what the map shows, and the paper
    aliases: tuple[str, ...] = ()
    settings: tuple[Setting, ...] = ()
    in_all: bool = True  # one of the maps `--method all` draws
    order: int = 100  # position in figures and listings (simple methods first)
    describe: Callable | None = None  # Explanation.info -> what a figure title adds, e.g. " (50 steps)"
    prepare: Callable | None = None  # (explainer, settings) -> None: what it needs from the model, checked early
    report: Callable | None = None  # Explanation.info -> (JSON-ready info, lines for the printed summary)


# In the order the figures draw them. Every module of zoo.explain.methods registers its method(s)
# when imported: a new method is a new file there, nothing else to edit.
EXPLAIN_METHODS: Registry[ExplainMethod] = Registry(
    "explanation method", load=import_package("zoo.explain.methods"), order=lambda m: m.order,
    aliases=lambda m: m.aliases, extra=("all",))
register = EXPLAIN_METHODS.register


def settings() -> dict[str, Setting]:
    """Every setting name the methods take, for ``--set`` and the help (the first method's record
    describes a shared name; each method still checks and defaults its own)."""
    found: dict[str, Setting] = {}
    for method in EXPLAIN_METHODS:
        for s in method.settings:
            found.setdefault(s.name, s)
    return found


def method_settings(name: str) -> dict[str, Setting]:
    """One method's own settings, by name."""
    return {s.name: s for s in EXPLAIN_METHODS.get(name).settings}


def resolve_methods(method: str) -> list[str]:
    """'all' -> the methods `--method all` draws; a name or alias -> [name]; else close matches."""
    if str(method).strip().lower() == "all":
        return [m.name for m in EXPLAIN_METHODS if m.in_all]
    return [EXPLAIN_METHODS.get(method).name]


def parse_setting(text: str) -> tuple[str, object]:
    """'steps=20' -> ('steps', 20); 'integrated-gradients.steps=20' -> ('integrated-gradients.steps', 20):
    read with the setting's own kind (for `zoo explain --set`). A bare name applies to every method
    that has a setting of that name; METHOD.NAME to that method only."""
    key, sep, value = str(text).partition("=")
    key = key.strip()
    method, dot, name = key.rpartition(".")
    name = name.strip().replace("-", "_")
    if dot:
        record = EXPLAIN_METHODS.get(method)
        known = method_settings(record.name)
        key = f"{record.name}.{name}"
    else:
        known = settings()
        key = name
    if not sep or name not in known:
        every = sorted(settings()) if not dot else sorted(known)
        raise InvalidArgumentError(f"--set takes NAME=VALUE or METHOD.NAME=VALUE with NAME one of {', '.join(every)}; "
                                   f"got {text!r}.")
    try:
        return key, known[name].kind(value.strip())
    except ValueError:
        wanted = {int: "an integer", float: "a number"}.get(known[name].kind, "a value")
        raise InvalidArgumentError(f"--set {key} needs {wanted}; got {value.strip()!r}.") from None


def check_settings(**given) -> dict:
    """Each method's settings, checked by its own record, defaults from its own record.

    ``given`` names a setting (``steps=20``: every method that has ``steps``) or one method's
    (``**{"integrated-gradients.steps": 20}``, or ``occlusion={"patch": 4}``). Returns
    {method: {setting: value}} for every registered method.
    """
    methods = EXPLAIN_METHODS.records()
    flat, scoped = {}, {}
    for key, value in given.items():
        method, dot, name = str(key).rpartition(".")
        if dot:
            scoped.setdefault(EXPLAIN_METHODS.get(method).name, {})[name.replace("-", "_")] = value
        elif isinstance(value, dict) and any(key == m or key in r.aliases for m, r in methods.items()):
            scoped.setdefault(EXPLAIN_METHODS.get(key).name, {}).update(value)
        else:
            flat[key] = value
    known = settings()
    unknown = sorted(set(flat) - set(known))
    for method, values in scoped.items():
        unknown += [f"{method}.{n}" for n in sorted(set(values) - set(method_settings(method)))]
    if unknown:
        raise InvalidArgumentError(f"Unknown explain setting(s) {', '.join(unknown)}; "
                                   f"the methods take {', '.join(sorted(known))}.")
    values = {}
    for method, record in methods.items():
        own = {}
        for s in record.settings:
            value = scoped.get(method, {}).get(s.name, flat.get(s.name, s.default))
            own[s.name] = s.check(value) if s.check is not None and value is not None else value
        values[method] = own
    return values

"""The registry: the single list of models.

Each family file in ``zoo/models/`` decorates its public builders with ``@register_model``; the
CLI, the docs table and the parametrized tests all read this list. Importing this module is cheap;
the model files (and so TensorFlow) are imported the first time the list is read.
"""

from __future__ import annotations

import fnmatch
import inspect
import json
from dataclasses import dataclass, field
from importlib import resources
from typing import Callable

from zoo import checks
from zoo.errors import InvalidArgumentError, UnknownNameError, close_matches_hint
from zoo.records import Registry


@dataclass(frozen=True)
class ModelSpec:
    """What the zoo knows about one model, besides its builder."""

    name: str
    family: str  # "lenet", "alexnet", "vgg", "inception", "resnet"
    builder: Callable = field(repr=False, compare=False)
    paper: str  # short reference, e.g. "He et al. 2016, Deep Residual Learning ..."
    input_shape: tuple[int, int, int]  # default (H, W, C)
    num_classes: int  # default number of classes
    small_input: bool  # True for the 28-64 px variants with an adapted stem
    last_conv: str  # name of the last conv layer (Grad-CAM's default target)
    description: str = ""
    # Training recipes by name (timm's pretrained_cfg): TrainConfig fields that reproduce the
    # shipped weights with `zoo train NAME --recipe RECIPE`, e.g. {"fashion_mnist": {...}}.
    recipes: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def weights_shipped(self) -> bool:
        return self.name in load_weights_manifest()


def _ensure_loaded() -> None:
    # Importing the package imports every family file, which registers its models.
    import zoo.models  # noqa: F401


MODELS: Registry[ModelSpec] = Registry("model", load=_ensure_loaded, order=lambda s: (s.family, s.name),
                                       hint=" Run `zoo models` for the full list.")


def register_model(
    name: str,
    *,
    family: str,
    paper: str,
    input_shape: tuple[int, int, int],
    num_classes: int,
    small_input: bool,
    last_conv: str,
    recipes: dict | None = None,
):
    """Record a builder ``fn(input_shape, num_classes, **overrides) -> keras.Model``.

    ``recipes`` maps a recipe name to the ``zoo train`` options (TrainConfig field names) that
    trained the shipped weights of this model; see ``get_recipe``.
    """

    def decorate(builder: Callable) -> Callable:
        doc = inspect.getdoc(builder) or ""
        MODELS.register(ModelSpec(
            name=name,
            family=family,
            builder=builder,
            paper=paper,
            input_shape=tuple(input_shape),
            num_classes=num_classes,
            small_input=small_input,
            last_conv=last_conv,
            description=doc.splitlines()[0] if doc else "",
            recipes={k: dict(v) for k, v in (recipes or {}).items()},
        ))
        return builder

    return decorate


def matches(pattern: str | None, name: str, family: str) -> bool:
    """``pattern`` is a glob (``resnet*``) or a substring of the name or family; None matches all."""
    if not pattern:
        return True
    glob = pattern if any(ch in pattern for ch in "*?[") else f"*{pattern}*"
    return fnmatch.fnmatch(name, glob) or fnmatch.fnmatch(family, glob)


def list_models(pattern: str | None = None) -> list[ModelSpec]:
    """Specs sorted by family then name; ``pattern`` is a glob (``resnet*``) or a substring."""
    return [s for s in MODELS if matches(pattern, s.name, s.family)]


def get_recipe(model: str, recipe: str) -> dict:
    """The ``zoo train`` options of ``model``'s recipe ``recipe`` (a copy), or a ZooError listing them."""
    spec = MODELS.get(model)
    if recipe not in spec.recipes:
        hint = (close_matches_hint(recipe, spec.recipes) if spec.recipes else
                " It has no recipes yet: pass the training options yourself.")
        raise UnknownNameError(f"{model} has no recipe {recipe!r}." + hint)
    return dict(spec.recipes[recipe])


def check_input_shape(input_shape) -> tuple[int, int, int]:
    """(H, W, C) with positive sizes and 1 or 3 channels, or a ZooError saying what was received."""
    try:
        shape = tuple(int(v) for v in input_shape)
    except (TypeError, ValueError):
        shape = None
    if shape is None or len(shape) != 3 or min(shape) < 1 or shape[2] not in (1, 3):
        raise InvalidArgumentError(
            f"Input shape must be H,W,C with positive sizes and 1 or 3 channels; got {input_shape!r}."
            " Example: --input-shape 28,28,1"
        )
    return shape


def create_model(name: str, input_shape=None, num_classes: int | None = None, **overrides):
    """Build a fresh (randomly initialised) Keras model from the registry.

    ``None`` means the model's own default. ``overrides`` are passed to the builder
    (e.g. ``dropout=0.3``); an argument the builder does not take is a ZooError.
    """
    spec = MODELS.get(name)
    shape = check_input_shape(spec.input_shape if input_shape is None else input_shape)
    classes = spec.num_classes if num_classes is None else num_classes
    classes = checks.positive_int(classes, "num_classes", note=f" for {name}")
    accepted = set(inspect.signature(spec.builder).parameters) - {"input_shape", "num_classes"}
    unknown = sorted(set(overrides) - accepted)
    if unknown:
        raise InvalidArgumentError(
            f"{name} does not take {', '.join(unknown)}; it accepts: {', '.join(sorted(accepted)) or 'nothing'}."
        )
    return spec.builder(input_shape=shape, num_classes=classes, **overrides)


def load_weights_manifest() -> dict:
    """``weights/manifest.json``: model name -> {file, sha256, dataset, metrics, command}."""
    try:
        text = resources.files("zoo.weights").joinpath("manifest.json").read_text()
    except (FileNotFoundError, ModuleNotFoundError):
        return {}
    return json.loads(text).get("models", {})

"""Augmentation by name: seeded Keras 3 preprocessing layers in a ``keras.layers.Pipeline``.

A spec is a preset (``none``, ``light``, ``standard``, ``strong``) or a comma list of names with
optional strengths (``flip,rotate=0.1,translate=0.15``; ``rotate:0.1`` works too); presets may
appear in the list. The geometric names share one RandomAffine layer (zoo.data.affine: one
resampling instead of one per name); colour and erasing use Keras's own layers.
Images are float32 pixels in [0, 255] and stay there. Importing this module does not import Keras
(names and presets are cheap to list); building a pipeline does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from zoo.errors import InvalidArgumentError, UnknownNameError, close_matches_hint


@dataclass(frozen=True)
class Augmentation:
    name: str
    help: str
    default: float | str  # strength used when the spec names it without a value
    build: Callable | None  # (strength, channels, seed) -> keras layers; None: part of RandomAffine


GEOMETRIC = ("flip", "crop", "translate", "rotate", "zoom", "shear")  # fused into one RandomAffine
FLIP_MODES = ("horizontal", "vertical", "both")


def _brightness(s, channels, seed):
    import keras

    return [keras.layers.RandomBrightness(s, value_range=(0, 255), seed=seed, name="brightness")]


def _contrast(s, channels, seed):
    import keras

    return [keras.layers.RandomContrast(s, value_range=(0, 255), seed=seed, name="contrast")]


def _color(s, channels, seed):
    import keras

    layers = _brightness(s, channels, seed) + _contrast(s, channels, seed + 1)
    if channels == 3:  # saturation and hue mean nothing on grey images
        layers += [
            keras.layers.RandomSaturation((max(0.0, 0.5 - s), min(1.0, 0.5 + s)), value_range=(0, 255),
                                          seed=seed + 2, name="saturation"),
            keras.layers.RandomHue(s / 4, value_range=(0, 255), seed=seed + 3, name="hue"),
        ]
    return layers


def _erase(s, channels, seed):
    import keras

    return [keras.layers.RandomErasing(factor=s, value_range=(0, 255), fill_value=0.0, seed=seed,
                                       name="erase")]


AUGMENTATIONS = {
    a.name: a
    for a in [
        Augmentation("flip", "mirror left-right (value: horizontal, vertical, both)", "horizontal", None),
        Augmentation("crop", "pad-and-crop: shift up to this fraction of the size, or pixels if >= 1 (crop=4)",
                     0.125, None),
        Augmentation("translate", "shift by up to this fraction of height/width", 0.1, None),
        Augmentation("rotate", "rotate by up to this fraction of a full turn", 0.05, None),
        Augmentation("zoom", "zoom in or out by up to this fraction", 0.1, None),
        Augmentation("shear", "shear by up to this factor in x and y", 0.15, None),
        Augmentation("brightness", "add up to this fraction of 255", 0.2, _brightness),
        Augmentation("contrast", "scale contrast by 1 +- this factor", 0.2, _contrast),
        Augmentation("color", "brightness and contrast, plus saturation and hue on RGB", 0.2, _color),
        Augmentation("erase", "random erasing with this probability per image", 0.5, _erase),
    ]
}

PRESETS = {
    "none": [],
    "light": ["flip", "crop"],
    "standard": ["flip", "crop", "translate", "rotate", "zoom", "contrast"],
    "strong": ["flip", "crop", "translate", "rotate", "zoom", "color", "shear", "erase"],
}


def augmentation_names() -> dict[str, list[str]]:
    """{"presets": [...], "augmentations": [...]} for CLI help and completion."""
    return {"presets": list(PRESETS), "augmentations": list(AUGMENTATIONS)}


def describe_augmentations() -> list[tuple[str, str, str]]:
    """(name, default strength, help) rows, presets first, for tables and docs."""
    rows = [(name, "", "preset: " + (" + ".join(items) or "no augmentation")) for name, items in PRESETS.items()]
    rows += [(a.name, str(a.default), a.help) for a in AUGMENTATIONS.values()]
    return rows


def parse_augmentation(spec) -> list[tuple[str, float | str]]:
    """'light,rotate=0.1' -> [('flip', 'horizontal'), ('crop', 0.125), ('rotate', 0.1)]."""
    if spec is None:
        return []
    if not isinstance(spec, str):
        raise InvalidArgumentError(f"An augmentation spec must be a string; got {spec!r}.")
    chosen: dict[str, float | str] = {}
    for item in (part.strip() for part in spec.split(",")):
        if not item:
            continue
        sep = "=" if "=" in item else ":"  # rotate=0.1 or rotate:0.1
        name, _, value = (s.strip() for s in item.partition(sep))
        name = name.lower()
        if name in PRESETS:
            if value:
                raise InvalidArgumentError(f"Preset {name!r} takes no strength; got {item!r}.")
            for member in PRESETS[name]:
                chosen.setdefault(member, AUGMENTATIONS[member].default)
            continue
        if name not in AUGMENTATIONS:
            raise UnknownNameError(
                f"Unknown augmentation {name!r} in {spec!r}."
                + close_matches_hint(name, list(AUGMENTATIONS) + list(PRESETS))
            )
        chosen[name] = _strength(name, value) if value else AUGMENTATIONS[name].default
    return list(chosen.items())


def _strength(name: str, text: str) -> float | str:
    if name == "flip":
        if text.lower() not in FLIP_MODES:
            raise InvalidArgumentError(f"flip takes one of {', '.join(FLIP_MODES)}; got {text!r}.")
        return text.lower()
    try:
        value = float(text)
    except ValueError:
        raise InvalidArgumentError(f"Augmentation {name!r} needs a number; got {text!r}.") from None
    if name == "crop" and value >= 1:  # crop=4: pad 4 pixels, the usual way to write it
        if value != int(value):
            raise InvalidArgumentError(f"crop takes a fraction below 1 or whole pixels; got {value}.")
        return int(value)
    if not 0.0 < value <= 1.0:
        raise InvalidArgumentError(
            f"Augmentation strength for {name!r} must be in (0, 1]"
            + (" (or whole pixels)" if name == "crop" else "") + f"; got {value}."
        )
    return value


def build_augmentation(spec, channels: int, seed: int = 0):
    """A ``keras.layers.Pipeline`` applying ``spec`` to float32 [0, 255] image batches, or None.

    Geometric names (flip, crop, translate, rotate, zoom, shear) become one RandomAffine layer
    (one resampling); colour and erasing are the stock Keras layers, applied after it. Each layer
    gets its own seed derived from ``seed``, so a seed repeats the same stream. The last layer
    clips to [0, 255]. Returns None for ``none`` (nothing to apply).
    """
    import keras

    from zoo.data.affine import ClipPixels, RandomAffine

    if channels not in (1, 3):
        raise InvalidArgumentError(f"Augmentation needs 1 or 3 channels; got {channels}.")
    items = dict(parse_augmentation(spec))
    if not items:
        return None
    base = int(seed) * 1000
    layers = []
    geometric = {name: items[name] for name in GEOMETRIC if name in items}
    if geometric:
        layers.append(RandomAffine(**geometric, seed=base, name="geometric"))
    for i, (name, strength) in enumerate(items.items()):
        if name not in GEOMETRIC:
            layers += AUGMENTATIONS[name].build(strength, channels, base + 10 * (i + 1))
    layers.append(ClipPixels(name="clip_pixels"))
    return keras.layers.Pipeline(layers, name="augment")

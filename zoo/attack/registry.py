"""Attacks as records: one file in ``zoo/attack/attacks/`` registers each.

A record owns its algorithm (ART: each attack class owns ``_check_params`` and ``generate``): how
it turns (eps, steps, step_size, random_start) into its settings, the graph-safe function that
crafts the examples, where it has one a fast path for several eps at once (FGSM: one gradient per
batch), where it sits in the strength order (a stronger attack must leave no more accuracy than a
weaker one: the report's red flags check it, the example grid shows the strongest), how many steps
it takes inside adversarial training (None: not offered there) and its colour and marker in the
figures. The array API, the robustness report, adversarial training, the CLI's ``--method``
choices and help, the figures and the parametrized tests read the records; nothing else names an
attack. Importing this module does not import TensorFlow (a record's functions import it when
called).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

from zoo import checks
from zoo.errors import PARAM, InvalidArgumentError
from zoo.records import Registry, import_package

PIXEL_MAX = 255.0


@dataclass(frozen=True)
class AttackSettings:
    """Resolved iteration settings of one method at one eps."""

    method: str
    eps: float
    steps: int
    step_size: float
    random_start: bool


@dataclass(frozen=True)
class Attack:
    name: str
    title: str
    summary: str  # one line: what it does, and the paper
    settings: Callable  # (eps, steps, step_size, random_start) -> AttackSettings; None means the default
    strength: int  # order of expected strength: weaker attacks are the baselines of stronger ones
    # (model, images, labels, start, *, eps, steps, step_size, targeted) -> adversarial images: pure
    # TensorFlow (runs in a tf.function and in a Keras train step); ``start`` is the first iterate
    # (the clean images, or a random point of the ball when the settings ask for a random start)
    craft: Callable = None
    # (model, images, labels, eps_values [E], targeted) -> (clean logits, adversarial [E, B, ...],
    # their logits [E, B, K]): several eps for the price of one gradient pass (FGSM); None: none
    craft_multi: Callable | None = None
    single_step: bool = False  # one signed-gradient step: the red flags' baseline for iterative attacks
    train_steps: int | None = None  # steps inside adversarial training (zoo train --adversarial); None: not offered
    style: tuple[str, str] = ("black", "x")  # (matplotlib colour, marker) of its curve


# weakest first; each file of zoo/attack/attacks/ registers its attack when imported
ATTACKS: Registry[Attack] = Registry("attack method", load=import_package("zoo.attack.attacks"),
                                     order=lambda a: a.strength)
register = ATTACKS.register


def training_methods() -> tuple[str, ...]:
    """The attacks ``zoo train --adversarial`` offers (those with ``train_steps``), weakest first."""
    return tuple(a.name for a in ATTACKS if a.train_steps is not None)


def strongest(methods) -> str:
    """The strongest of ``methods`` by the registry's strength order (ties: the later name)."""
    registry = ATTACKS.records()
    return max(methods, key=lambda m: (registry[m].strength, m))


def check_method(method: str) -> str:
    return checks.choice(str(method).strip(), "method", ATTACKS.names(), what="attack method")


def check_eps(eps, param: str = "eps") -> float:
    """A finite number in [0, 255] (pixel units), or a ZooError saying what was received."""
    try:
        ok = not isinstance(eps, bool) and math.isfinite(float(eps)) and 0.0 <= float(eps) <= PIXEL_MAX
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise InvalidArgumentError(
            f"{PARAM} must be a number of pixel levels in [0, 255] (e.g. 8 = 8/255); got {eps!r}. "
            "Fractions of the range such as 0.03 need --eps-scale unit.", param=param)
    return float(eps)


EPS_SCALES = ("pixel", "unit")


def check_eps_scale(eps_scale) -> str:
    return checks.choice(str(eps_scale).strip().lower(), "eps_scale", EPS_SCALES, what="eps scale")


def to_pixels(eps, eps_scale: str = "pixel", param: str = "eps") -> float:
    """eps in pixel levels: as given (``eps_scale="pixel"``) or times 255 (``"unit"``, a fraction in [0, 1])."""
    if check_eps_scale(eps_scale) == "unit":
        ok = checks.is_number(eps) and 0.0 <= float(eps) <= 1.0
        if not ok:
            raise InvalidArgumentError(
                f'With eps_scale="unit", {PARAM} is a fraction of the pixel range in [0, 1]; got {eps!r}.', param=param)
        return check_eps(float(eps) * PIXEL_MAX, param)
    return check_eps(eps, param)


class SmallEpsWarning(UserWarning):
    """An eps above 0 but under one pixel level: most likely a fraction of the range (8/255) in pixel units."""

    def __init__(self, values):
        self.values = tuple(float(v) for v in values)
        super().__init__(self.worded())

    def worded(self, flag: Callable | None = None) -> str:
        """One line naming the Python parameters, or the flags ``flag(param)`` gives (the CLI's ``flag_of``)."""
        eps = flag("eps") if flag else "eps"
        unit = f"{flag('eps_scale')} unit" if flag else 'eps_scale="unit"'
        shown = ", ".join(f"{v:g}" for v in self.values)
        return (f"{eps} {shown} is below one pixel level: eps counts pixel levels 0..255 (8 means 8/255); "
                f"for fractions of the range pass {unit}.")


def small_eps_warning(eps_values) -> SmallEpsWarning | None:
    """The warning for pixel-unit eps values in (0, 1), or None."""
    small = sorted({float(e) for e in eps_values if 0.0 < float(e) < 1.0})
    return SmallEpsWarning(small) if small else None


def resolve_settings(method: str, eps: float, *, steps=None, step_size=None, random_start=None) -> AttackSettings:
    """Fill ``None`` with the method's defaults and check the values."""
    attack = ATTACKS.get(check_method(method))
    return attack.settings(check_eps(eps), steps, step_size, random_start)


def iterative_settings(name: str, eps: float, steps, step_size, random_start, *, default_steps: int,
                       default_step: Callable, default_random_start: bool) -> AttackSettings:
    """Settings of an iterated signed-gradient attack: ``default_step(eps, steps)`` when no step is given."""
    steps = checks.positive_int(default_steps if steps is None else steps, "steps")
    step_size = default_step(eps, steps) if step_size is None else check_eps(step_size, "step_size")
    random_start = default_random_start if random_start is None else bool(random_start)
    return AttackSettings(name, eps, steps, float(step_size), random_start)

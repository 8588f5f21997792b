"""Attacks as records: one file in ``zoo/attack/attacks/`` registers each.

A record says how the attack turns (eps, --steps, --step-size, --random-start) into its settings,
where it sits in the strength order (a stronger attack must leave no more accuracy than a weaker
one: the report's red flags check it) and whether one gradient per batch serves every eps (FGSM's
fast path). ``resolve_settings``, the CLI's ``--method`` choices and help, and the parametrized
tests read it. Importing this module does not import TensorFlow.
"""

from __future__ import annotations

import importlib
import math
import pkgutil
from dataclasses import dataclass
from typing import Callable

from zoo import checks
from zoo.errors import PARAM, InvalidArgumentError

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
    single_step: bool = False  # one signed-gradient step: one gradient per batch serves every eps


_ATTACKS: dict[str, Attack] = {}


def register(attack: Attack) -> Attack:
    if attack.name in _ATTACKS:
        raise ValueError(f"attack {attack.name!r} is registered twice")
    _ATTACKS[attack.name] = attack
    return attack


def attacks() -> dict[str, Attack]:
    """Name -> record, weakest first."""
    import zoo.attack.attacks as package

    for info in pkgutil.iter_modules(package.__path__):  # each file registers its attack when imported
        importlib.import_module(f"{package.__name__}.{info.name}")
    return dict(sorted(_ATTACKS.items(), key=lambda kv: (kv[1].strength, kv[0])))


def check_method(method: str) -> str:
    return checks.choice(str(method).strip(), "method", tuple(attacks()), what="attack method")


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


def resolve_settings(method: str, eps: float, *, steps=None, step_size=None, random_start=None) -> AttackSettings:
    """Fill ``None`` with the method's defaults and check the values."""
    attack = attacks()[check_method(method)]
    return attack.settings(check_eps(eps), steps, step_size, random_start)


def iterative_settings(name: str, eps: float, steps, step_size, random_start, *, default_steps: int,
                       default_step: Callable, default_random_start: bool) -> AttackSettings:
    """Settings of an iterated signed-gradient attack: ``default_step(eps, steps)`` when no step is given."""
    steps = checks.positive_int(default_steps if steps is None else steps, "steps")
    step_size = default_step(eps, steps) if step_size is None else check_eps(step_size, "step_size")
    random_start = default_random_start if random_start is None else bool(random_start)
    return AttackSettings(name, eps, steps, float(step_size), random_start)

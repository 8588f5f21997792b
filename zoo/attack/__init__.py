"""Adversarial examples: FGSM, BIM, PGD, robustness reports, adversarial training.

The attacks are records in ``registry.py`` (one file each in ``attacks/``); the TensorFlow graphs
that run them are in ``methods.py``. Importing this package is cheap: the names below load their
module (and TensorFlow) on first use.
"""

import importlib

_WHERE = {
    "METHODS": "methods", "attack": "methods", "bim": "methods", "check_eps": "registry", "fgsm": "methods",
    "pgd": "methods", "resolve_settings": "registry", "mix_adversarial": "adversarial_training",
}
__all__ = sorted(_WHERE)


def __getattr__(name):
    if name in _WHERE:
        return getattr(importlib.import_module(f"zoo.attack.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'zoo.attack' has no attribute {name!r}")

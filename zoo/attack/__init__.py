"""Adversarial examples: FGSM, BIM, PGD, robustness reports, adversarial training.

Importing this package imports TensorFlow (the attacks are TensorFlow graphs).
"""

from zoo.attack.adversarial_training import mix_adversarial
from zoo.attack.methods import METHODS, attack, bim, check_eps, fgsm, pgd, resolve_settings

__all__ = ["METHODS", "attack", "bim", "check_eps", "fgsm", "mix_adversarial", "pgd", "resolve_settings"]

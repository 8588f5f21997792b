"""FGSM (Goodfellow et al. 2015): one signed-gradient step of size eps."""

from zoo.attack.registry import Attack, AttackSettings, register


def fgsm_settings(eps, steps=None, step_size=None, random_start=None) -> AttackSettings:
    return AttackSettings("fgsm", eps, 1, eps, False)  # one step of eps: the other options do not apply


register(Attack("fgsm", "FGSM", "one signed-gradient step of size eps (Goodfellow et al. 2015)",
                fgsm_settings, strength=1, single_step=True))

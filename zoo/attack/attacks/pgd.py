"""PGD (Madry et al. 2017): a random start in the eps-ball, then projected signed-gradient steps."""

from zoo.attack.attacks.bim import craft  # the same projected signed steps; the random start is in the settings
from zoo.attack.registry import Attack, iterative_settings, register

DEFAULT_STEPS = 10
STEP_FACTOR = 2.5  # step = 2.5 * eps / steps: the whole ball (2 eps) can be crossed, with steps to spare
TRAIN_STEPS = 7  # Madry et al. used 7 steps for CIFAR-10 adversarial training


def pgd_settings(eps, steps=None, step_size=None, random_start=None):
    return iterative_settings("pgd", eps, steps, step_size, random_start, default_steps=DEFAULT_STEPS,
                              default_step=lambda eps, steps: STEP_FACTOR * eps / steps, default_random_start=True)


register(Attack("pgd", "PGD", f"random start, {DEFAULT_STEPS} steps of 2.5 eps/steps, projected (Madry et al. 2017)",
                pgd_settings, strength=3, craft=craft, train_steps=TRAIN_STEPS, style=("tab:blue", "^")))

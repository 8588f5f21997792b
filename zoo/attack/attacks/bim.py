"""BIM (Kurakin et al. 2016): small fixed signed-gradient steps from the clean input, projected."""

from zoo.attack.registry import Attack, iterative_settings, register

DEFAULT_STEPS = 10
STEP_FRACTION = 0.25  # step = eps / 4


def bim_settings(eps, steps=None, step_size=None, random_start=None):
    return iterative_settings("bim", eps, steps, step_size, random_start, default_steps=DEFAULT_STEPS,
                              default_step=lambda eps, steps: eps * STEP_FRACTION, default_random_start=False)


def craft(model, images, labels, start, *, eps, steps, step_size, targeted):
    from zoo.attack.methods import iterative_tensor

    return iterative_tensor(model, images, labels, eps, steps=steps, step_size=step_size, start=start,
                            targeted=targeted)


register(Attack("bim", "BIM", f"{DEFAULT_STEPS} steps of eps/4 from the clean image, projected (Kurakin et al. 2016)",
                bim_settings, strength=2, craft=craft, style=("tab:purple", "s")))

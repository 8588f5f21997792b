"""FGSM (Goodfellow et al. 2015): one signed-gradient step of size eps."""

from zoo.attack.registry import Attack, AttackSettings, register


def fgsm_settings(eps, steps=None, step_size=None, random_start=None) -> AttackSettings:
    return AttackSettings("fgsm", eps, 1, eps, False)  # one step of eps: the other options do not apply


def craft(model, images, labels, start, *, eps, steps, step_size, targeted):
    from zoo.attack.methods import fgsm_tensor

    return fgsm_tensor(model, images, labels, eps, targeted)  # from the clean image, whatever the start


def craft_multi(model, x, y, eps_values, targeted):
    """The gradient does not depend on eps: one backward pass, then one forward pass per eps (one at a
    time, so memory stays that of one batch even for large models)."""
    from keras import ops

    from zoo.attack.methods import direction, loss_gradient, project
    from zoo.backend import map_sequential

    logits, grad = loss_gradient(model, x, y)
    step = direction(targeted) * ops.sign(grad)

    def one_eps(eps):
        adv = project(x + eps * step, x, eps)
        return adv, ops.cast(model(adv, training=False), "float32")

    advs, adv_logits = map_sequential(one_eps, ops.cast(eps_values, "float32"))
    return logits, advs, adv_logits


register(Attack("fgsm", "FGSM", "one signed-gradient step of size eps (Goodfellow et al. 2015)",
                fgsm_settings, strength=1, craft=craft, craft_multi=craft_multi, single_step=True,
                train_steps=1,  # Goodfellow et al. (sec. 6): train on a mix of clean and FGSM examples
                style=("tab:red", "o")))

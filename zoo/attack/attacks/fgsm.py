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
    import tensorflow as tf

    from zoo.attack.methods import direction, loss_gradient, project

    logits, grad = loss_gradient(model, x, y)
    step = direction(targeted) * tf.sign(grad)

    def one_eps(eps):
        adv = project(x + eps * step, x, eps)
        return adv, tf.cast(model(adv, training=False), tf.float32)

    advs, adv_logits = tf.map_fn(one_eps, eps_values, fn_output_signature=(tf.float32, tf.float32),
                                 parallel_iterations=1)
    return logits, advs, adv_logits


register(Attack("fgsm", "FGSM", "one signed-gradient step of size eps (Goodfellow et al. 2015)",
                fgsm_settings, strength=1, craft=craft, craft_multi=craft_multi, single_step=True,
                train_steps=1,  # Goodfellow et al. (sec. 6): train on a mix of clean and FGSM examples
                style=("tab:red", "o")))

"""MI-FGSM (Dong et al. 2018, "Boosting Adversarial Attacks with Momentum"): iterated signed steps
along an accumulated, L1-normalised gradient.

    g_{t+1} = mu * g_t + grad L(x_t) / ||grad L(x_t)||_1      (per example, over all pixels)
    x_{t+1} = clip_{x, eps}(x_t + alpha * sign(g_{t+1}))       alpha = eps / T, mu = 1 (the paper's)

The momentum keeps the direction of earlier steps, so the attack is less trapped by the local
wiggles of one model's loss: Dong et al. report it transfers better to other models than BIM at
the same budget (white-box it is about as strong). This is ART's ``MomentumIterativeMethod`` with
``norm=inf, decay=1.0, eps_step=eps/max_iter, num_random_init=0`` (ART 1.20 updates its momentum
by the same rule); eps and alpha in pixel levels, ``clip_values=(0, 255)``.
"""

from zoo.attack.registry import Attack, iterative_settings, register

DEFAULT_STEPS = 10  # Dong et al. 2018: T = 10 iterations
DECAY = 1.0  # mu: Dong et al. found mu = 1.0 best (an unweighted sum of the normalised gradients)


def mi_fgsm_settings(eps, steps=None, step_size=None, random_start=None):
    return iterative_settings("mi-fgsm", eps, steps, step_size, random_start, default_steps=DEFAULT_STEPS,
                              default_step=lambda eps, steps: eps / steps, default_random_start=False)


def craft(model, images, labels, start, *, eps, steps, step_size, targeted, decay=DECAY):
    """The momentum loop in Keras ops (``keras.ops.fori_loop``: the graph does not grow with steps)."""
    from keras import ops

    from zoo.attack.methods import direction, loss_gradient, project

    images = ops.cast(images, "float32")
    eps = ops.cast(eps, "float32")
    step_size = ops.cast(step_size, "float32")
    sign = direction(targeted)  # a targeted attack descends the target's loss: momentum of -grad
    x = project(ops.cast(start, "float32"), images, eps)
    axes = tuple(range(1, len(images.shape)))  # every pixel of an example (static: shapes stay known)

    def body(i, state):
        x, g = state
        _, grad = loss_gradient(model, x, labels)
        l1 = ops.sum(ops.abs(grad), axis=axes, keepdims=True)
        g = decay * g + sign * ops.divide_no_nan(grad, l1)  # a zero gradient adds nothing (ART: / inf)
        return project(x + step_size * ops.sign(g), images, eps), g

    x, _ = ops.fori_loop(0, steps, body, (x, ops.zeros_like(images)))
    return ops.stop_gradient(x)


register(Attack("mi-fgsm", "MI-FGSM",
                f"{DEFAULT_STEPS} signed steps of eps/{DEFAULT_STEPS} along the accumulated L1-normalised "
                "gradient (momentum 1; Dong et al. 2018)",
                mi_fgsm_settings, strength=2, craft=craft, style=("tab:green", "D")))

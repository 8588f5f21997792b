"""The one place the zoo differentiates with respect to inputs.

Saliency, SmoothGrad, Integrated Gradients, Grad-CAM (against a layer's activations), FGSM, BIM,
PGD and adversarial training all ask the same question: how does a score (a class logit, a loss)
change with the input? They ask it here, once per Keras backend: ``tf.GradientTape`` on
TensorFlow, ``jax.value_and_grad`` on JAX, ``torch.autograd.grad`` on PyTorch (keras-hub's way:
one branch per backend around the few calls that differ). The model runs in inference mode and
only the input is watched (no weight gradients are recorded).
"""

from __future__ import annotations


def score_gradient(fn, x, *, wrt=None):
    """``(outputs, d sum(score) / d target)`` for ``score, outputs = fn(x)``.

    The target is ``x`` itself, or ``wrt(outputs)`` for an intermediate tensor computed from ``x``
    (TensorFlow and PyTorch only: JAX differentiates functions, not tensors, so there a caller
    differentiates the part of the model after that tensor instead, as Grad-CAM does). Scores of
    independent examples may be summed: each example's gradient is then its own. Where the score
    does not depend on the target (a model that stops gradients) the gradient is zeros, not None,
    so callers see no effect instead of a crash.
    """
    import keras

    backend = keras.backend.backend()
    if backend == "tensorflow":
        return _tensorflow(fn, x, wrt)
    if backend == "jax":
        return _jax(fn, x, wrt)
    if backend == "torch":
        return _torch(fn, x, wrt)
    raise NotImplementedError(f"Input gradients are not implemented for the Keras backend {backend!r}; "
                              "use KERAS_BACKEND=tensorflow, jax or torch.")


def _tensorflow(fn, x, wrt):
    import tensorflow as tf

    x = tf.convert_to_tensor(x)
    with tf.GradientTape(watch_accessed_variables=False) as tape:
        tape.watch(x)
        score, outputs = fn(x)
        target = x if wrt is None else wrt(outputs)
    return outputs, tape.gradient(score, target, unconnected_gradients=tf.UnconnectedGradients.ZERO)


def _jax(fn, x, wrt):
    import jax
    import jax.numpy as jnp

    if wrt is not None:
        raise NotImplementedError("On JAX, differentiate the function of the intermediate tensor itself "
                                  "(score_gradient(head, features)), not a tensor picked by wrt.")

    def total(x):
        score, outputs = fn(x)
        return jnp.sum(score), outputs

    (_, outputs), grad = jax.value_and_grad(total, has_aux=True)(jnp.asarray(x))
    return outputs, grad


def _torch(fn, x, wrt):
    import keras
    import torch

    x = torch.as_tensor(keras.ops.convert_to_tensor(x)).detach().requires_grad_(True)
    with torch.enable_grad():
        score, outputs = fn(x)
        target = x if wrt is None else wrt(outputs)
        grad = None
        if score.requires_grad:
            (grad,) = torch.autograd.grad(score.sum(), target, allow_unused=True)
    if grad is None:
        grad = torch.zeros_like(target)
    return outputs, grad.detach()

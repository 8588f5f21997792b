"""The one place the zoo differentiates with respect to inputs.

Saliency, SmoothGrad, Integrated Gradients, Grad-CAM (against a layer's activations), FGSM, BIM,
PGD and adversarial training all ask the same question: how does a score (a class logit, a loss)
change with the input? They ask it here, so moving the zoo to another Keras 3 backend means
rewriting this function, not every method. The model runs in inference mode and only the input is
watched (no weight gradients are recorded).
"""

from __future__ import annotations

import tensorflow as tf


def score_gradient(fn, x, *, wrt=None):
    """``(outputs, d sum(score) / d target)`` for ``score, outputs = fn(x)``.

    The target is ``x`` itself, or ``wrt(outputs)`` for an intermediate tensor computed from ``x``
    (Grad-CAM's feature maps). Scores of independent examples may be summed: each example's
    gradient is then its own. Where the score does not depend on the target (a model that stops
    gradients) the gradient is zeros, not None, so callers see no effect instead of a crash.
    """
    x = tf.convert_to_tensor(x)
    with tf.GradientTape(watch_accessed_variables=False) as tape:
        tape.watch(x)
        score, outputs = fn(x)
        target = x if wrt is None else wrt(outputs)
    return outputs, tape.gradient(score, target, unconnected_gradients=tf.UnconnectedGradients.ZERO)

"""Adversarial training: replace part of each batch by examples crafted against the current weights.

``mix_adversarial`` is called by the trainer inside its compiled train step (``zoo train
--adversarial fgsm|pgd``), so it is pure TensorFlow: no Python side effects, no NumPy, no eager
work; only the argument checks run in Python, once, while the step is traced.

Goodfellow et al. 2015 (sec. 6) train on a mix of clean and FGSM examples; Madry et al. 2017 train
on PGD examples (random start, a few projected steps). ``ratio`` is the fraction of the batch that is
replaced (0.5 is Goodfellow's equal weighting, 1.0 is Madry's); labels are unchanged.
"""

from __future__ import annotations

import tensorflow as tf

from zoo import checks
from zoo.attack.attacks.pgd import STEP_FACTOR as PGD_STEP_FACTOR
from zoo.attack.methods import (
    check_eps,
    fgsm_tensor,
    iterative_tensor,
    random_start_tensor,
)
from zoo.errors import InvalidArgumentError

TRAINING_METHODS = ("fgsm", "pgd")
PGD_TRAIN_STEPS = 7  # Madry et al. used 7 steps for CIFAR-10 adversarial training


def mix_adversarial(model, images, labels, *, method: str = "fgsm", eps: float = 8.0, ratio: float = 0.5,
                    steps: int = PGD_TRAIN_STEPS, step_size: float | None = None):
    """(images, labels) with the first ``ratio`` of the batch replaced by adversarial examples.

    ``images`` are raw pixels in [0, 255] (float); ``labels`` sparse or one-hot, returned unchanged.
    ``eps`` and ``step_size`` are in pixel units; pgd uses ``steps`` steps of ``step_size``
    (default 2.5*eps/steps) from a random start in the eps-ball. The model is called with
    ``training=False`` and the crafted images carry no gradient.
    """
    method = str(method).lower()
    if method not in TRAINING_METHODS:
        raise InvalidArgumentError(
            f"Adversarial training supports {' and '.join(TRAINING_METHODS)}; got {method!r}."
        )
    eps = check_eps(eps, "adv_eps")
    ratio = checks.fraction(ratio, "adv_ratio", include_one=True)
    steps = checks.positive_int(steps, "steps", note=" (adversarial PGD steps)")
    if step_size is None:
        step_size = PGD_STEP_FACTOR * eps / steps
    step_size = check_eps(step_size, "adversarial step size")

    images = tf.convert_to_tensor(images)
    if ratio == 0.0 or eps == 0.0:
        return images, labels
    x = tf.cast(images, tf.float32)
    n = tf.shape(x)[0]
    # At least one example per batch once ratio > 0 (a batch of 1 with ratio 0.5 still gets one).
    k = tf.minimum(n, tf.maximum(1, tf.cast(tf.math.round(float(ratio) * tf.cast(n, tf.float32)), tf.int32)))
    head, head_labels = x[:k], labels[:k]
    if method == "fgsm":
        crafted = fgsm_tensor(model, head, head_labels, eps)
    else:
        start = random_start_tensor(head, eps)
        crafted = iterative_tensor(model, head, head_labels, eps, steps=steps, step_size=step_size, start=start)
    mixed = tf.concat([crafted, x[k:]], axis=0)
    return tf.cast(mixed, images.dtype), labels

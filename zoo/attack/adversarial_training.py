"""Adversarial training: replace part of each batch by examples crafted against the current weights.

``mix_adversarial`` is called by the trainer inside its compiled train step (``zoo train
--adversarial NAME``), so it is Keras ops on the running backend's tensors: no Python side effects,
no NumPy, no eager work; only the argument checks run in Python, once, while the step is traced.
PGD's random start is drawn by the backend (``random_start_tensor``: TensorFlow's op RNG, torch's
global generator, on JAX a key folded from ``seed``, the optimizer's step, since a jitted step has
no RNG state of its own). The attack crafts with its
own record's function (``zoo/attack/attacks/<name>.py``); the records with ``train_steps`` are the
ones offered here.

Goodfellow et al. 2015 (sec. 6) train on a mix of clean and FGSM examples; Madry et al. 2017 train
on PGD examples (random start, 7 projected steps for CIFAR-10). ``ratio`` is the fraction of the
batch that is replaced (0.5 is Goodfellow's equal weighting, 1.0 is Madry's); labels are unchanged.
"""

from __future__ import annotations

from zoo import checks
from zoo.attack.methods import check_eps, random_start_tensor
from zoo.attack.registry import ATTACKS, training_methods
from zoo.errors import InvalidArgumentError


def mix_adversarial(model, images, labels, *, method: str = "fgsm", eps: float = 8.0, ratio: float = 0.5,
                    steps: int | None = None, step_size: float | None = None, seed=None):
    """(images, labels) with the first ``ratio`` of the batch replaced by adversarial examples.

    ``images`` are raw pixels in [0, 255] (float); ``labels`` sparse or one-hot, returned unchanged.
    ``eps`` and ``step_size`` are in pixel units; ``steps`` defaults to the attack's ``train_steps``
    (pgd: 7) and ``step_size`` to its own rule (pgd: 2.5*eps/steps, from a random start in the
    eps-ball). The model is called with ``training=False`` and the crafted images carry no gradient.
    """
    offered = training_methods()
    method = str(method).lower()
    if method not in offered:
        raise InvalidArgumentError(
            f"Adversarial training supports {' and '.join(offered)}; got {method!r}."
        )
    record = ATTACKS.get(method)
    eps = check_eps(eps, "adv_eps")
    ratio = checks.fraction(ratio, "adv_ratio", include_one=True)
    steps = checks.positive_int(record.train_steps if steps is None else steps, "steps",
                                note=" (adversarial training steps)")
    if step_size is not None:
        step_size = check_eps(step_size, "adversarial step size")
    settings = record.settings(eps, steps, step_size, None)

    from keras import ops

    images = ops.convert_to_tensor(images)
    if ratio == 0.0 or eps == 0.0:
        return images, labels
    x = ops.cast(images, "float32")
    k = _head_size(x, float(ratio))
    head, head_labels = x[:k], labels[:k]
    start = random_start_tensor(head, settings.eps, seed) if settings.random_start else head
    crafted = record.craft(model, head, head_labels, start, eps=settings.eps, steps=settings.steps,
                           step_size=settings.step_size, targeted=False)
    mixed = ops.concatenate([crafted, x[k:]], axis=0)
    return ops.cast(mixed, images.dtype), labels


def _head_size(x, ratio: float):
    """How many examples of the batch become adversarial: round(ratio * n), at least one once ratio > 0
    (a batch of 1 with ratio 0.5 still gets one). A Python int where the batch size is static (JAX and
    PyTorch always), a tensor in a TensorFlow graph traced for any batch size."""
    n = x.shape[0]
    if n is not None:
        return min(n, max(1, round(ratio * n)))
    import tensorflow as tf

    n = tf.shape(x)[0]
    return tf.minimum(n, tf.maximum(1, tf.cast(tf.math.round(ratio * tf.cast(n, tf.float32)), tf.int32)))

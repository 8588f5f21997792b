"""Gradient attacks in pixel space (L-infinity): the shared building blocks and the array API.

Conventions (DESIGN.md): models take raw pixels in [0, 255] and return logits. Every attack
differentiates the cross-entropy computed *from logits* (never through a saturated softmax), calls
the model with ``training=False`` (dropout off, BatchNorm in inference mode, so the examples of a
batch do not interact), and keeps the result inside the eps-ball around the input and inside
[0, 255]. ``eps`` and step sizes are in pixel units (out of 255).

Two layers:

* tensor functions (``loss_gradient``, ``project``, ``fgsm_tensor``, ``iterative_tensor``) are Keras
  ops with no Python side effects, so they run on any backend, inside its compiled form
  (``tf.function``, ``jax.jit``) and inside a Keras train step. Each attack's record
  (``zoo/attack/attacks/<name>.py``) crafts with them, or with a
  loop of its own (MI-FGSM);
* array functions (``attack``, ``attack_and_predict``, ``attack_multi`` and the shorthands
  ``fgsm``, ``bim``, ``pgd``, ``mi_fgsm``) take NumPy arrays of any length, run a record's crafting
  function batch by batch through functions compiled once per model and method (``zoo.backend``), and return NumPy arrays.
"""

from __future__ import annotations

import warnings
import weakref

import numpy as np
from keras import ops

from zoo import checks
from zoo.backend import compiled, to_numpy
from zoo.attack.registry import (  # noqa: F401  (re-exported: the checks every attack shares)
    ATTACKS,
    PIXEL_MAX,
    AttackSettings,
    check_eps,
    check_method,
    resolve_settings,
    small_eps_warning,
    to_pixels,
)
from zoo.errors import InvalidArgumentError
from zoo.gradients import score_gradient

METHODS = ATTACKS.names()  # weakest first (one file each in zoo/attack/attacks/)


# --------------------------------------------------------------------------------------------
# Tensor functions (graph-safe)
# --------------------------------------------------------------------------------------------


def _sparse_labels(labels):
    """Integer class indices from sparse or one-hot labels."""
    labels = ops.convert_to_tensor(labels)
    if len(labels.shape) == 2:
        labels = ops.argmax(labels, axis=-1)
    return ops.cast(labels, "int32")


def loss_gradient(model, images, labels):
    """(logits, d loss / d images) of the per-example cross-entropy from logits, model in inference mode."""
    images = ops.cast(images, "float32")
    labels = _sparse_labels(labels)

    def loss(x):
        logits = ops.cast(model(x, training=False), "float32")
        return ops.sparse_categorical_crossentropy(labels, logits, from_logits=True), logits

    # A model that blocks gradients (e.g. stop_gradient, quantisation) gets zeros: the attack then
    # does nothing and the report's red flags say so.
    return score_gradient(loss, images)


def direction(targeted):
    # Untargeted attacks climb the loss of the true class; targeted ones descend the target's loss.
    return ops.where(ops.cast(targeted, "bool"), -1.0, 1.0)


def project(images_adv, images, eps):
    """Clip into the L-inf ball of radius eps around ``images`` and into [0, 255]."""
    lo = ops.maximum(images - eps, 0.0)
    hi = ops.minimum(images + eps, PIXEL_MAX)
    return ops.minimum(ops.maximum(images_adv, lo), hi)


def fgsm_tensor(model, images, labels, eps, targeted=False):
    """One signed-gradient step of size eps (Goodfellow et al. 2015), clipped to [0, 255]."""
    images = ops.cast(images, "float32")
    _, grad = loss_gradient(model, images, labels)
    adv = images + direction(targeted) * ops.cast(eps, "float32") * ops.sign(grad)
    return ops.stop_gradient(project(adv, images, eps))


def iterative_tensor(model, images, labels, eps, *, steps, step_size, start=None, targeted=False):
    """BIM / PGD: ``steps`` signed-gradient steps, projected to the eps-ball and [0, 255] after each.

    ``start`` is the first iterate (e.g. ``images`` plus uniform noise for PGD's random start); it
    is projected first. ``keras.ops.fori_loop`` (a ``tf.while_loop``, a ``lax`` loop) keeps the
    graph small whatever ``steps`` is.
    """
    images = ops.cast(images, "float32")
    eps = ops.cast(eps, "float32")
    step_size = ops.cast(step_size, "float32")
    sign = direction(targeted)
    labels = _sparse_labels(labels)
    x = images if start is None else project(ops.cast(start, "float32"), images, eps)

    def body(i, x):
        _, grad = loss_gradient(model, x, labels)
        return project(x + sign * step_size * ops.sign(grad), images, eps)

    return ops.stop_gradient(ops.fori_loop(0, steps, body, x))


def random_start_tensor(images, eps, seed=None):
    """``images`` plus uniform noise in [-eps, eps] (PGD's random start), projected, drawn inside a
    compiled train step (the array API draws its start with NumPy): TensorFlow's op RNG (``seed``, a
    pair, makes it stateless), torch's global generator (saved with a run's backup), or on JAX a key
    folded from ``seed`` (required there: the optimizer's step, a traced integer)."""
    from keras import ops

    from zoo.backend import name

    backend = name()
    if backend == "tensorflow":
        import tensorflow as tf

        if seed is None:
            noise = tf.random.uniform(tf.shape(images), -1.0, 1.0)
        else:
            noise = tf.random.stateless_uniform(tf.shape(images), seed, -1.0, 1.0)
    elif backend == "jax":
        import jax

        if seed is None:
            raise ValueError("random_start_tensor on JAX needs seed: an integer (e.g. the optimizer step).")
        key = jax.random.fold_in(jax.random.key(0), ops.cast(seed, "uint32"))
        noise = jax.random.uniform(key, images.shape, minval=-1.0, maxval=1.0)
    else:
        import torch

        noise = torch.rand_like(images) * 2.0 - 1.0
    return project(images + ops.cast(eps, "float32") * noise, images, eps)


# --------------------------------------------------------------------------------------------
# Compiled graphs, one set per model
# --------------------------------------------------------------------------------------------

_GRAPHS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


class _Graphs:
    """The compiled functions of one model (``zoo.backend.compiled``), one per method, for a
    (None, H, W, C) batch on TensorFlow (one trace); JAX specialises on the batch size itself."""

    def __init__(self, model):
        self.ref = weakref.ref(model)  # the graphs must not keep the model alive
        shape = (None,) + tuple(int(d) for d in model.inputs[0].shape[1:])
        self.x_spec = (shape, "float32")
        self.crafts: dict = {}
        self.multis: dict = {}

    def craft_and_predict(self, method: str):
        """(x, y, start, eps, step_size, steps, targeted) -> (adversarial images, their logits)."""
        if method not in self.crafts:
            ref, craft = self.ref, ATTACKS.get(method).craft

            def run(x, y, start, eps, step_size, steps, targeted):
                adv = craft(ref(), x, y, start, eps=eps, steps=steps, step_size=step_size, targeted=targeted)
                return adv, ops.cast(ref()(adv, training=False), "float32")

            self.crafts[method] = compiled(run, model=ref(), signature=[
                self.x_spec, ((None,), "int32"), self.x_spec, ((), "float32"), ((), "float32"), ((), "int32"),
                ((), "bool")])
        return self.crafts[method]

    def multi_and_predict(self, method: str):
        """(x, y, eps_values, targeted) -> (clean logits, adversarial [E, B, ...], their logits [E, B, K])."""
        if method not in self.multis:
            ref, multi = self.ref, ATTACKS.get(method).craft_multi
            self.multis[method] = compiled(
                lambda x, y, eps_values, targeted: multi(ref(), x, y, eps_values, targeted), model=ref(),
                signature=[self.x_spec, ((None,), "int32"), ((None,), "float32"), ((), "bool")])
        return self.multis[method]


def graphs(model) -> _Graphs:
    g = _GRAPHS.get(model)
    if g is None:
        g = _GRAPHS[model] = _Graphs(model)
    return g


def _batches(n: int, batch_size: int):
    batch_size = checks.positive_int(batch_size, "batch_size")
    for start in range(0, n, int(batch_size)):
        yield slice(start, min(n, start + int(batch_size)))


def _check_arrays(model, images, labels):
    images = np.asarray(images, dtype="float32")
    labels = np.asarray(labels)
    if labels.ndim == 2:
        labels = labels.argmax(axis=-1)
    labels = labels.astype("int32").reshape(-1)
    expected = tuple(int(d) for d in model.inputs[0].shape[1:])
    if images.ndim != 4 or images.shape[1:] != expected:
        raise InvalidArgumentError(
            f"The model takes images of shape (N, {', '.join(map(str, expected))}); got {images.shape}."
        )
    if len(labels) != len(images):
        raise InvalidArgumentError(f"{len(images)} images but {len(labels)} labels.")
    if images.size and (images.min() < 0 or images.max() > PIXEL_MAX):
        raise InvalidArgumentError(
            f"Attacks work on raw pixels in [0, 255]; got values in [{images.min():g}, {images.max():g}]."
        )
    classes = int(model.outputs[0].shape[-1])
    if labels.size and (labels.min() < 0 or labels.max() >= classes):
        raise InvalidArgumentError(f"Labels must be class indices in [0, {classes - 1}]; got {labels.min()}..{labels.max()}.")
    return images, labels


# --------------------------------------------------------------------------------------------
# Array API
# --------------------------------------------------------------------------------------------


def attack_multi(model, images, labels, method: str, eps_values, *, targeted: bool = False, batch_size: int = 256):
    """One method at several eps through its record's fast path (FGSM: one gradient pass per batch).

    Returns (clean logits [N, K], {eps: (adversarial images [N, ...], logits [N, K])}).
    """
    method = check_method(method)
    if ATTACKS.get(method).craft_multi is None:
        raise InvalidArgumentError(f"{method} has no several-eps fast path; call attack_and_predict per eps.")
    eps_values = [check_eps(e) for e in eps_values]
    images, labels = _check_arrays(model, images, labels)
    run = graphs(model).multi_and_predict(method)
    eps_t = np.asarray(eps_values, "float32")
    clean, advs, logits = [], [], []
    for s in _batches(len(images), batch_size):
        c, a, lo = to_numpy(run(images[s], labels[s], eps_t, np.bool_(targeted)))
        clean.append(c)
        advs.append(a)
        logits.append(lo)
    k = int(model.outputs[0].shape[-1])
    if not clean:
        return np.zeros((0, k), "float32"), {e: (np.zeros_like(images), np.zeros((0, k), "float32")) for e in eps_values}
    advs, logits = np.concatenate(advs, axis=1), np.concatenate(logits, axis=1)
    return np.concatenate(clean), {e: (advs[i], logits[i]) for i, e in enumerate(eps_values)}


def fgsm_multi(model, images, labels, eps_values, *, targeted: bool = False, batch_size: int = 256):
    """FGSM at several eps with one gradient pass per batch (``attack_multi`` for "fgsm")."""
    return attack_multi(model, images, labels, "fgsm", eps_values, targeted=targeted, batch_size=batch_size)


def attack_and_predict(
    model, images, labels, method: str, eps, *, targeted: bool = False, steps=None, step_size=None,
    random_start=None, seed: int = 0, batch_size: int = 256,
):
    """(adversarial images, their logits, settings) for one method at one eps (pixel units).

    ``labels`` are the true (or predicted) classes for an untargeted attack and the target classes
    for a targeted one.
    """
    settings = resolve_settings(method, eps, steps=steps, step_size=step_size, random_start=random_start)
    images, labels = _check_arrays(model, images, labels)
    if ATTACKS.get(settings.method).craft_multi is not None:
        _, results = attack_multi(model, images, labels, settings.method, [settings.eps], targeted=targeted,
                                  batch_size=batch_size)
        adv, logits = results[settings.eps]
        return adv, logits, settings
    run = graphs(model).craft_and_predict(settings.method)
    rng = np.random.default_rng(seed)
    advs, logits = [], []
    for s in _batches(len(images), batch_size):
        x = images[s]
        start = x
        if settings.random_start:
            noise = rng.uniform(-settings.eps, settings.eps, size=x.shape).astype("float32")
            start = np.clip(x + noise, 0.0, PIXEL_MAX)
        a, lo = to_numpy(run(x, labels[s], np.asarray(start, "float32"), np.float32(settings.eps),
                             np.float32(settings.step_size), int(settings.steps), np.bool_(targeted)))
        advs.append(a)
        logits.append(lo)
    if not advs:
        return np.zeros_like(images), np.zeros((0, int(model.outputs[0].shape[-1])), "float32"), settings
    return np.concatenate(advs), np.concatenate(logits), settings


def attack(model, images, labels, method: str, eps, *, eps_scale: str = "pixel", **kwargs) -> np.ndarray:
    """Adversarial images for a registered ``method`` at ``eps``: pixel levels out of 255, or a
    fraction of the range with ``eps_scale="unit"`` (8/255 then means 8 levels)."""
    pixels = to_pixels(eps, eps_scale)
    note = small_eps_warning([pixels]) if eps_scale == "pixel" else None
    if note is not None:
        warnings.warn(note, stacklevel=3)
    adv, _, _ = attack_and_predict(model, images, labels, method, pixels, **kwargs)
    return adv


def fgsm(model, images, labels, eps, *, targeted: bool = False, eps_scale: str = "pixel",
         batch_size: int = 256) -> np.ndarray:
    """FGSM: clip(x + eps * sign(grad_x L(x, y)), 0, 255); targeted steps down the target's loss."""
    return attack(model, images, labels, "fgsm", eps, targeted=targeted, eps_scale=eps_scale, batch_size=batch_size)


def bim(model, images, labels, eps, *, steps=None, step_size=None, random_start=False, targeted=False,
        eps_scale: str = "pixel", seed: int = 0, batch_size: int = 256) -> np.ndarray:
    """Basic iterative method: ``steps`` FGSM steps of ``step_size`` (eps/4), projected after each."""
    return attack(model, images, labels, "bim", eps, steps=steps, step_size=step_size, random_start=random_start,
                  targeted=targeted, eps_scale=eps_scale, seed=seed, batch_size=batch_size)


def pgd(model, images, labels, eps, *, steps=None, step_size=None, random_start=True, targeted=False,
        eps_scale: str = "pixel", seed: int = 0, batch_size: int = 256) -> np.ndarray:
    """Madry et al. PGD: random start in the ball, ``steps`` steps of 2.5*eps/steps, projected."""
    return attack(model, images, labels, "pgd", eps, steps=steps, step_size=step_size, random_start=random_start,
                  targeted=targeted, eps_scale=eps_scale, seed=seed, batch_size=batch_size)


def mi_fgsm(model, images, labels, eps, *, steps=None, step_size=None, random_start=False, targeted=False,
            eps_scale: str = "pixel", seed: int = 0, batch_size: int = 256) -> np.ndarray:
    """Dong et al. MI-FGSM: ``steps`` signed steps of eps/steps along the accumulated L1-normalised gradient."""
    return attack(model, images, labels, "mi-fgsm", eps, steps=steps, step_size=step_size,
                  random_start=random_start, targeted=targeted, eps_scale=eps_scale, seed=seed, batch_size=batch_size)

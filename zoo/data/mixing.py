"""MixUp and CutMix on batches, with soft labels (``zoo train --mixup ALPHA --cutmix ALPHA``).

- MixUp (Zhang et al. 2018): x = lam * x_i + (1 - lam) * x_j, y likewise, lam ~ Beta(alpha, alpha).
- CutMix (Yun et al. 2019): a box of area (1 - lam) of x_i is replaced by the same box of x_j; the
  labels mix by the box's real area (after clipping at the border).

Each batch is mixed with itself reversed (timm's ``mixup_mode="batch"`` pairs x_i with x_{B-1-i})
and draws one lam; with both on, each batch uses one of the two (probability 1/2, as in timm).
Keras 3 has ``MixUp``/``CutMix`` layers, but they draw from a stateful seed generator, so a
resumed run would mix differently from an uninterrupted one; here every draw is a stateless op
seeded by (epoch seed, batch index), so epoch e mixes the same whether or not the run was resumed.
"""

from __future__ import annotations

import tensorflow as tf


def one_hot_batches(ds, num_classes: int):
    """(images, int labels) batches -> (images, float32 one-hot labels): what a soft-label loss reads."""
    return ds.map(lambda x, y: (x, tf.one_hot(tf.cast(tf.reshape(y, [-1]), tf.int32), num_classes)),
                  num_parallel_calls=tf.data.AUTOTUNE)


def mix_batches(ds, *, num_classes: int, mixup: float = 0.0, cutmix: float = 0.0, seed: int = 0):
    """Batches of (images, soft labels [B, K]) mixed by MixUp and/or CutMix (alphas > 0 turn them on)."""
    ds = one_hot_batches(ds, num_classes)
    if mixup <= 0 and cutmix <= 0:
        return ds

    def mix(i, batch):
        x, y = batch
        s = tf.stack([tf.cast(seed, tf.int64), tf.cast(i, tf.int64)])  # this batch's own draws
        if mixup > 0 and cutmix > 0:
            pick_cutmix = tf.random.stateless_uniform([], s + [0, 1 << 40]) < 0.5
            return tf.cond(pick_cutmix, lambda: _cutmix(x, y, _beta(cutmix, s), s), lambda: _mixup(x, y, _beta(mixup, s)))
        if cutmix > 0:
            return _cutmix(x, y, _beta(cutmix, s), s)
        return _mixup(x, y, _beta(mixup, s))

    return ds.enumerate().map(mix, num_parallel_calls=tf.data.AUTOTUNE)


def _beta(alpha: float, seed):
    """lam ~ Beta(alpha, alpha) from two stateless gamma draws."""
    a = tf.random.stateless_gamma([], seed + [0, 2 << 40], alpha=alpha)
    b = tf.random.stateless_gamma([], seed + [0, 3 << 40], alpha=alpha)
    return a / tf.maximum(a + b, 1e-12)


def _mixup(x, y, lam):
    lx = tf.cast(lam, x.dtype)  # augmentation layers may hand over bfloat16 images under mixed precision
    return lx * x + (1 - lx) * tf.reverse(x, [0]), lam * y + (1 - lam) * tf.reverse(y, [0])


def _cutmix(x, y, lam, seed):
    h, w = tf.shape(x)[1], tf.shape(x)[2]
    hf, wf = tf.cast(h, tf.float32), tf.cast(w, tf.float32)
    ratio = tf.sqrt(1.0 - lam)
    cy = tf.random.stateless_uniform([], seed + [0, 4 << 40], 0, h, dtype=tf.int32)
    cx = tf.random.stateless_uniform([], seed + [0, 5 << 40], 0, w, dtype=tf.int32)
    half_h = tf.cast(hf * ratio / 2, tf.int32)
    half_w = tf.cast(wf * ratio / 2, tf.int32)
    y1, y2 = tf.maximum(cy - half_h, 0), tf.minimum(cy + half_h, h)
    x1, x2 = tf.maximum(cx - half_w, 0), tf.minimum(cx + half_w, w)
    rows = tf.logical_and(tf.range(h) >= y1, tf.range(h) < y2)
    cols = tf.logical_and(tf.range(w) >= x1, tf.range(w) < x2)
    box = tf.cast(tf.logical_and(rows[:, None], cols[None, :]), x.dtype)[None, :, :, None]
    mixed = x * (1 - box) + tf.reverse(x, [0]) * box
    kept = 1.0 - tf.cast((y2 - y1) * (x2 - x1), tf.float32) / (hf * wf)  # the real share of x_i left
    return mixed, kept * y + (1 - kept) * tf.reverse(y, [0])

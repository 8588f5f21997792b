"""Gradient saliency: vanilla gradient, SmoothGrad (and its squared form), Integrated Gradients.

All three are "average the gradient of the target logit over some inputs derived from the image":

- vanilla gradient: the image itself (1 item per image);
- SmoothGrad (Smilkov et al. 2017): ``n`` copies with Gaussian noise of std ``sigma`` pixels;
- Integrated Gradients (Sundararajan et al. 2017): ``steps`` points on the straight path from a
  baseline to the image (midpoint rule), times ``(image - baseline)``.

So one compiled loop does them all: the (image x sample x step) items are flattened and walked in
chunks of ``batch_size`` inside one ``tf.function`` (a ``tf.while_loop``), gradients summed per
image with a segment sum. Memory is bounded by the batch size, not by ``n``. The noise of item
(image i, sample j) comes from a stateless generator seeded with (seed, i, j), so the maps do not
depend on the batch size.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from zoo import checks
from zoo.errors import InvalidArgumentError
from zoo.gradients import score_gradient

PIXEL_RANGE = 255.0  # inputs are raw pixels in [0, 255]: SmoothGrad's sigma is a fraction of this
DEFAULT_BATCH_SIZE = 64  # the methods' defaults (samples, noise, steps) live in zoo/explain/methods/


@dataclass(frozen=True)
class _Plan:
    """How the items of one image are derived (Python constants: one trace per plan)."""

    path: bool  # Integrated Gradients: interpolate from the baseline
    noise: bool  # SmoothGrad: add Gaussian noise
    squared: bool  # SmoothGrad-squared: average g*g instead of g


class GradientEngine:
    """Compiled, chunked averages of input gradients of one model's target logits.

    Build once per model and reuse: the compiled functions read the model's variables, so
    re-assigned weights (the sanity check's cascade) are picked up without re-tracing.
    """

    def __init__(self, model, batch_size: int = DEFAULT_BATCH_SIZE):
        self.model = model
        self.batch_size = check_batch_size(batch_size)
        self._functions: dict[_Plan, object] = {}
        shape = tuple(model.inputs[0].shape[1:])
        self.input_shape = shape
        self._signature = (
            tf.TensorSpec((None, *shape), tf.float32),  # images
            tf.TensorSpec((None, *shape), tf.float32),  # baselines
            tf.TensorSpec((None,), tf.int32),  # targets
            tf.TensorSpec((), tf.int32),  # samples per image
            tf.TensorSpec((), tf.int32),  # path steps per image
            tf.TensorSpec((), tf.float32),  # noise std in pixels
            tf.TensorSpec((), tf.int64),  # seed
        )

    def _function(self, plan: _Plan):
        if plan not in self._functions:
            self._functions[plan] = tf.function(self._make_loop(plan), input_signature=self._signature)
        return self._functions[plan]

    def _make_loop(self, plan: _Plan):
        model, chunk = self.model, self.batch_size
        item_shape = self.input_shape

        def loop(images, baselines, targets, samples, steps, sigma, seed):
            n_images = tf.shape(images)[0]
            per_image = samples * steps
            total = n_images * per_image
            n_chunks = (total + chunk - 1) // chunk
            acc = tf.zeros_like(images)
            for c in tf.range(n_chunks):
                k = c * chunk + tf.range(chunk)
                valid = tf.cast(k < total, tf.float32)[:, None, None, None]
                k = tf.minimum(k, total - 1)  # the last chunk is padded with repeats, masked out
                i = k // per_image
                r = k % per_image
                x0 = tf.gather(images, i)
                if plan.path:
                    b0 = tf.gather(baselines, i)
                    alpha = (tf.cast(r % steps, tf.float32) + 0.5) / tf.cast(steps, tf.float32)
                    x = b0 + alpha[:, None, None, None] * (x0 - b0)
                else:
                    x = x0
                if plan.noise:
                    # one stateless stream per (image, sample): independent of the chunking
                    key = tf.stack([seed * 1_000_003 + tf.cast(i, tf.int64), tf.cast(r // steps, tf.int64)], 1)
                    noise = tf.map_fn(
                        lambda s: tf.random.stateless_normal(item_shape, seed=s),
                        key,
                        fn_output_signature=tf.TensorSpec(item_shape, tf.float32),
                    )
                    x = x + sigma * noise
                # items are independent (inference mode), so d(sum)/dx_k = d(picked_k)/dx_k
                _, g = score_gradient(
                    lambda x: (tf.gather(model(x, training=False), tf.gather(targets, i), batch_dims=1), None), x)
                if plan.squared:
                    g = g * g
                acc += tf.math.unsorted_segment_sum(g * valid, i, n_images)
            return acc / tf.cast(per_image, tf.float32)

        return loop

    def average_gradient(self, images, targets, *, samples=1, steps=1, sigma=0.0, baselines=None,
                         squared=False, seed=0):
        """Mean over items of d logit[target] / d input (or its square), shape (N, H, W, C)."""
        images = self._images(images)
        targets = np.asarray(targets, dtype="int32").reshape(-1)
        if len(targets) != len(images):
            raise InvalidArgumentError(f"Need one target per image; got {len(targets)} for {len(images)} images.")
        if len(images) == 0:
            return np.zeros_like(images)
        plan = _Plan(path=baselines is not None, noise=sigma > 0, squared=squared)
        base = images if baselines is None else self._images(baselines, like=images)
        out = self._function(plan)(
            tf.constant(images), tf.constant(base), tf.constant(targets),
            tf.constant(int(samples), tf.int32), tf.constant(int(steps), tf.int32),
            tf.constant(float(sigma), tf.float32), tf.constant(int(seed), tf.int64),
        )
        return out.numpy()

    def _images(self, images, like=None) -> np.ndarray:
        arr = np.asarray(images, dtype="float32")
        if like is not None and arr.ndim == len(self.input_shape):
            arr = np.broadcast_to(arr, like.shape)
        if arr.ndim != 4 or tuple(arr.shape[1:]) != self.input_shape:
            raise InvalidArgumentError(
                f"Images must have shape (N, {', '.join(map(str, self.input_shape))}) for this model; "
                f"got {arr.shape}."
            )
        return np.ascontiguousarray(arr)

    # -- the methods -------------------------------------------------------------------------

    def gradient(self, images, targets):
        """Vanilla gradient of the target logit w.r.t. the input pixels, signed, (N, H, W, C)."""
        return self.average_gradient(images, targets)

    def smoothgrad(self, images, targets, *, samples: int, noise: float, squared=False, seed=0):
        """SmoothGrad: mean gradient over ``samples`` noisy copies, noise std = ``noise`` * 255."""
        samples = checks.positive_int(samples, "samples")
        noise = checks.non_negative(noise, "noise")
        return self.average_gradient(
            images, targets, samples=samples, sigma=noise * PIXEL_RANGE, squared=squared, seed=seed
        )

    def integrated_gradients(self, images, targets, *, steps: int, baseline=None):
        """(attributions (N, H, W, C), relative completeness gap (N,)).

        The baseline defaults to black (all zeros). The gap is
        |sum(attributions) - (f(x) - f(baseline))| / |f(x) - f(baseline)| on the target logit.
        """
        steps = checks.positive_int(steps, "steps")
        images = self._images(images)
        base = np.zeros_like(images) if baseline is None else self._images(baseline, like=images)
        grads = self.average_gradient(images, targets, steps=steps, baselines=base)
        attributions = (images - base) * grads
        targets = np.asarray(targets, dtype="int64").reshape(-1)
        f_x = self.target_logits(images, targets)
        f_b = self.target_logits(base, targets)
        delta = f_x - f_b
        gap = np.abs(attributions.reshape(len(images), -1).sum(1) - delta) / np.maximum(np.abs(delta), 1e-12)
        return attributions, gap

    def logits(self, images) -> np.ndarray:
        images = self._images(images)
        out = [self.model(images[s:s + self.batch_size], training=False) for s in range(0, len(images), self.batch_size)]
        return np.concatenate([np.asarray(o) for o in out]) if out else np.zeros((0, 0), "float32")

    def target_logits(self, images, targets) -> np.ndarray:
        logits = self.logits(images).astype("float64")
        return logits[np.arange(len(logits)), np.asarray(targets, dtype="int64")]


def to_heatmap(gradients) -> np.ndarray:
    """(N, H, W, C) signed gradients -> (N, H, W) saliency: absolute value, max over channels."""
    return np.abs(np.asarray(gradients)).max(axis=-1)


def attribution_heatmap(attributions) -> np.ndarray:
    """(N, H, W, C) signed attributions -> (N, H, W): |sum over channels| (keeps completeness per pixel)."""
    return np.abs(np.asarray(attributions).sum(axis=-1))


def check_batch_size(batch_size) -> int:
    return checks.positive_int(batch_size, "batch_size")


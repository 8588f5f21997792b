"""Gradient saliency: vanilla gradient, SmoothGrad (and its squared form), Integrated Gradients.

All three are "average the gradient of the target logit over some inputs derived from the image":

- vanilla gradient: the image itself (1 item per image);
- SmoothGrad (Smilkov et al. 2017): ``n`` copies with Gaussian noise of std ``sigma`` pixels;
- Integrated Gradients (Sundararajan et al. 2017): ``steps`` points on the straight path from a
  baseline to the image (midpoint rule), times ``(image - baseline)``.

So one compiled step does them all: the (image x sample x step) items are flattened and walked in
chunks of ``batch_size``, each chunk's gradients taken by one function compiled for the running
Keras backend (``zoo.backend.compiled``) and summed per image. Memory is bounded by the batch size,
not by ``n``. The noise of item (image i, sample j) comes from a NumPy generator seeded with
(seed, i, j), so the maps depend neither on the batch size nor on the backend.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from zoo import checks
from zoo.errors import InvalidArgumentError
from zoo.gradients import score_gradient

PIXEL_RANGE = 255.0  # inputs are raw pixels in [0, 255]: SmoothGrad's sigma is a fraction of this
DEFAULT_BATCH_SIZE = 64  # the methods' defaults (samples, noise, steps) live in zoo/explain/methods/


@dataclass(frozen=True)
class _Plan:
    """How the items of one image are derived."""

    path: bool  # Integrated Gradients: interpolate from the baseline
    noise: bool  # SmoothGrad: add Gaussian noise
    squared: bool  # SmoothGrad-squared: average g*g instead of g
    samples: int = 1  # noisy copies per image
    steps: int = 1  # path points per image
    sigma: float = 0.0  # noise std in pixels
    seed: int = 0  # of the noise


class GradientEngine:
    """Compiled, chunked averages of input gradients of one model's target logits.

    Build once per model and reuse: the compiled step reads the model's variables, so
    re-assigned weights (the sanity check's cascade) are picked up without re-tracing.
    """

    def __init__(self, model, batch_size: int = DEFAULT_BATCH_SIZE):
        from zoo.backend import compiled

        self.model = model
        self.batch_size = check_batch_size(batch_size)
        shape = tuple(model.inputs[0].shape[1:])
        self.input_shape = shape
        chunk = self.batch_size
        # one compiled step for a full chunk (the last one is padded): one trace per model
        self._step = compiled(_target_gradient(model), model=model,
                              signature=[((chunk, *shape), "float32"), ((chunk,), "int32")])

    def _items(self, plan: _Plan, images, baselines, k):
        """The inputs of items ``k`` (NumPy): image, path point and noise of each."""
        steps = plan.steps
        per_image = plan.samples * steps
        i, r = k // per_image, k % per_image
        x = images[i]
        if plan.path:
            alpha = ((r % steps).astype("float32") + 0.5) / np.float32(steps)
            b0 = baselines[i]
            x = b0 + alpha[:, None, None, None] * (x - b0)
        if plan.noise:
            # one stream per (seed, image, sample): independent of the chunking and of the backend
            key = int(plan.seed) % 2**63
            noise = np.stack([np.random.default_rng([key, int(a), int(b)]).standard_normal(self.input_shape)
                              for a, b in zip(i, r // steps)]).astype("float32")
            x = x + np.float32(plan.sigma) * noise
        return np.ascontiguousarray(x, dtype="float32")

    def _average(self, plan: _Plan, images, baselines, targets):
        from zoo.backend import to_numpy

        chunk = self.batch_size
        per_image = plan.samples * plan.steps
        total = len(images) * per_image
        acc = np.zeros(images.shape, "float64")
        for start in range(0, total, chunk):
            k = np.minimum(np.arange(start, start + chunk), total - 1)  # the last chunk is padded with repeats
            valid = np.arange(start, start + chunk) < total
            x = self._items(plan, images, baselines, k)
            # items are independent (inference mode), so d(sum)/dx_k = d(picked_k)/dx_k
            g = to_numpy(self._step(x, targets[k // per_image]))
            if plan.squared:
                g = g * g
            np.add.at(acc, k[valid] // per_image, g[valid])
        return (acc / per_image).astype("float32")

    def average_gradient(self, images, targets, *, samples=1, steps=1, sigma=0.0, baselines=None,
                         squared=False, seed=0):
        """Mean over items of d logit[target] / d input (or its square), shape (N, H, W, C)."""
        images = self._images(images)
        targets = np.asarray(targets, dtype="int32").reshape(-1)
        if len(targets) != len(images):
            raise InvalidArgumentError(f"Need one target per image; got {len(targets)} for {len(images)} images.")
        if len(images) == 0:
            return np.zeros_like(images)
        plan = _Plan(path=baselines is not None, noise=sigma > 0, squared=squared, samples=int(samples),
                     steps=int(steps), sigma=float(sigma), seed=int(seed))
        base = images if baselines is None else self._images(baselines, like=images)
        return self._average(plan, images, base, targets)

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
        from zoo.backend import to_numpy

        out = [to_numpy(self.model(images[s:s + self.batch_size], training=False))
               for s in range(0, len(images), self.batch_size)]
        return np.concatenate(out) if out else np.zeros((0, 0), "float32")

    def target_logits(self, images, targets) -> np.ndarray:
        logits = self.logits(images).astype("float64")
        return logits[np.arange(len(logits)), np.asarray(targets, dtype="int64")]


def _target_gradient(model):
    """``(x, targets) -> d logit[target] / d x`` for a chunk of items (Keras ops: any backend)."""
    from keras import ops

    from zoo.gradients import score_gradient

    classes = int(model.outputs[0].shape[-1])

    def step(x, targets):
        picked = ops.one_hot(targets, classes, dtype="float32")

        def score(x):
            return ops.sum(ops.cast(model(x, training=False), "float32") * picked, axis=-1), None

        return score_gradient(score, x)[1]

    return step


def to_heatmap(gradients) -> np.ndarray:
    """(N, H, W, C) signed gradients -> (N, H, W) saliency: absolute value, max over channels."""
    return np.abs(np.asarray(gradients)).max(axis=-1)


def attribution_heatmap(attributions) -> np.ndarray:
    """(N, H, W, C) signed attributions -> (N, H, W): |sum over channels| (keeps completeness per pixel)."""
    return np.abs(np.asarray(attributions).sum(axis=-1))


def check_batch_size(batch_size) -> int:
    return checks.positive_int(batch_size, "batch_size")


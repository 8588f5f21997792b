"""Occlusion sensitivity (Zeiler & Fergus 2014, sec. 4.2): slide a square patch over the image,
fill it with a baseline, and see how much the target logit drops. A pixel's value is the mean drop
of the patches that cover it: high where hiding the region costs the class most.

No gradient is taken (the map is what the model does, not its local slope), so it is slower than
the gradient methods: (positions x images) forward passes, batched through ``predict_logits``.
It is not in ``--method all``; ``--method occlusion`` draws it.
"""

import numpy as np

from zoo import checks
from zoo.explain.registry import ExplainMethod, Explanation, Setting, register

DEFAULT_PATCH = 6  # pixels: about a fifth of a 28-32 px image, the size of a Fashion-MNIST part (a sleeve)
DEFAULT_STRIDE = 2  # overlapping patches: each pixel is covered by (patch / stride)^2 of them
FILLS = ("zero", "mean")  # black (IG's baseline) or the image's own mean colour


def check_fill(fill) -> str:
    return checks.choice(str(fill), "fill", FILLS, what="occlusion fill")


PATCH = Setting("patch", DEFAULT_PATCH, lambda v: checks.positive_int(v, "patch"),
                "Occlusion: side of the square patch in pixels.", int)
STRIDE = Setting("stride", DEFAULT_STRIDE, lambda v: checks.positive_int(v, "stride"),
                 "Occlusion: step between patch positions in pixels.", int)
FILL = Setting("fill", "zero", check_fill, "Occlusion: what fills the patch: zero (black) or mean (the image's mean).")


def _starts(size: int, patch: int, stride: int) -> list[int]:
    """Patch positions along one side; the last one touches the edge, so every pixel is covered."""
    starts = list(range(0, size - patch + 1, stride))
    return starts if starts[-1] == size - patch else starts + [size - patch]


def occlusion_maps(model, images, targets, *, patch: int, stride: int, fill: str = "zero", batch_size: int = 64,
                   chunk: int = 256) -> np.ndarray:
    """(N, H, W) mean drop of the target logit when a patch covering the pixel is filled."""
    from zoo.evaluation import predict_logits

    images = np.asarray(images, "float32")
    targets = np.asarray(targets, "int64").reshape(-1)
    n, height, width, _ = images.shape
    patch = min(patch, height, width)
    positions = [(r, c) for r in _starts(height, patch, stride) for c in _starts(width, patch, stride)]
    clean = predict_logits(model, images, batch_size=batch_size)[np.arange(n), targets]
    drop = np.zeros((n, height, width), "float64")
    cover = np.zeros((height, width), "float64")
    for r, c in positions:
        cover[r:r + patch, c:c + patch] += 1
    for i in range(n):
        value = 0.0 if fill == "zero" else images[i].mean(axis=(0, 1))
        for s in range(0, len(positions), chunk):  # bounded memory whatever the image size
            part = positions[s:s + chunk]
            copies = np.repeat(images[i:i + 1], len(part), axis=0)
            for k, (r, c) in enumerate(part):
                copies[k, r:r + patch, c:c + patch] = value
            scores = predict_logits(model, copies, batch_size=batch_size)[:, targets[i]]
            for (r, c), score in zip(part, scores):
                drop[i, r:r + patch, c:c + patch] += clean[i] - score
    return (drop / cover).astype("float32")


def occlusion(explainer, images, targets, settings) -> Explanation:
    signed = occlusion_maps(explainer.model, images, targets, patch=settings["patch"], stride=settings["stride"],
                            fill=settings["fill"], batch_size=explainer.batch_size)
    # the figure shows where hiding hurts the class; a region whose hiding helps it is not salient
    return Explanation("occlusion", np.maximum(signed, 0.0), signed[..., None],
                       {"patch": settings["patch"], "stride": settings["stride"], "fill": settings["fill"]})


register(ExplainMethod(
    "occlusion", "Occlusion", occlusion, order=50, in_all=False, aliases=("occlusion-sensitivity",),
    settings=(PATCH, STRIDE, FILL),
    describe=lambda info: f" ({info['patch']}x{info['patch']} {info['fill']} patch, stride {info['stride']})",
    summary="the drop of the target logit when a sliding patch hides the region (Zeiler & Fergus 2014)"))

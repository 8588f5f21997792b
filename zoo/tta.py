"""Test-time augmentation: average a model's logits over a few label-preserving views of each image.

The views are the ones the speed records use on CIFAR-like data (Page, "How to train your
ResNet 8": mirror TTA was the largest single gain; airbench: mirror + 1 px translations):

- ``none``:        the image as it is (the single-view figure every table also reports);
- ``flip``:        the image and its left-right mirror (2 views);
- ``flip+shift``:  both, each also translated by 1 px down-right and up-left, zero-filled (6 views).

Mirroring assumes the classes are mirror-symmetric (clothes, animals, vehicles: yes; digits and
letters: no): that is the user's call. Logits, not probabilities, are averaged, so a view
the model is very sure about does not outvote the others through a saturated softmax.
"""

from __future__ import annotations

from zoo import checks

TTA_MODES = ("none", "flip", "flip+shift")
TTA_HELP = ("Test-time augmentation: none, flip (the image and its mirror) or flip+shift (also 1 px shifts); "
            "the logits of the views are averaged. Mirroring suits classes that look the same mirrored "
            "(clothes, objects), not digits or letters.")
SHIFTS = ((1, 1), (-1, -1))  # (dy, dx) of the shifted views


def check_tta(mode) -> str:
    return checks.choice("none" if mode is None else mode, "tta", TTA_MODES, what="test-time augmentation")


def view_count(mode: str) -> int:
    return {"none": 1, "flip": 2, "flip+shift": 2 * (1 + len(SHIFTS))}[check_tta(mode)]


def views(images, mode: str) -> list:
    """The views of a batch ``images`` (N, H, W, C) that ``mode`` averages over (Keras ops: any backend)."""
    from keras import ops

    mode = check_tta(mode)
    out = [images]
    if mode == "none":
        return out
    out.append(ops.flip(images, axis=2))
    if mode == "flip+shift":
        out += [shift(v, dy, dx) for v in list(out) for dy, dx in SHIFTS]
    return out


def shift(images, dy: int, dx: int):
    """Translate a batch by (dy, dx) pixels, filling the uncovered border with zeros (black)."""
    from keras import ops

    h, w = int(images.shape[1]), int(images.shape[2])
    pad = max(abs(dy), abs(dx))
    padded = ops.pad(images, [[0, 0], [pad, pad], [pad, pad], [0, 0]])
    top, left = pad - dy, pad - dx
    return padded[:, top:top + h, left:left + w, :]


def averaged(fn, mode: str, *, keep_single: bool = False):
    """``images -> mean over views of fn(view)``: any function whose output keeps the batch order.

    ``keep_single``: ``images -> stack([mean, fn(images)])``, the TTA and the single-view output from
    one pass (the image as it is is the first view).
    """
    from keras import ops

    mode = check_tta(mode)
    if mode == "none" and not keep_single:
        return fn

    def over_views(images):
        outs = ops.stack([fn(v) for v in views(images, mode)], axis=0)
        mean = ops.mean(outs, axis=0)
        return ops.stack([mean, outs[0]], axis=0) if keep_single else mean

    return over_views

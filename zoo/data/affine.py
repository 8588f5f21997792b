"""RandomAffine: flip, pad-and-crop, translation, rotation, zoom and shear as ONE resampling.

Keras ships these as separate layers, each resampling the batch: chained they blur small images
(every bilinear pass smooths again) and cost one full image transform each. Composing the draws
into one matrix per image gives one ``keras.ops.image.affine_transform`` call. Shifts are whole
pixels, so flip/crop/translate alone copy pixels exactly.
"""

from __future__ import annotations

import math

import keras
from keras import ops


class RandomAffine(keras.layers.Layer):
    """Random geometric augmentation of NHWC float batches, zero fill outside the source.

    Args (0 / None = off): ``flip`` "horizontal" | "vertical" | "both"; ``crop`` pad-and-crop shift
    up to this fraction of the size, or this many pixels when >= 1; ``translate`` shift up to this
    fraction; ``rotate`` up to this
    fraction of a full turn either way; ``zoom`` scale in [1 - zoom, 1 + zoom]; ``shear`` shear
    factors in [-shear, shear] along x and y.
    """

    def __init__(self, flip=None, crop=0.0, translate=0.0, rotate=0.0, zoom=0.0, shear=0.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.flip, self.crop, self.translate = flip, float(crop), float(translate)
        self.rotate, self.zoom, self.shear, self.seed = float(rotate), float(zoom), float(shear), seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def _uniform(self, n, half_width):
        return keras.random.uniform((n,), -half_width, half_width, seed=self.seed_generator)

    def _sign(self, n):
        return ops.where(keras.random.uniform((n,), seed=self.seed_generator) < 0.5, -1.0, 1.0)

    def call(self, images, training=True):
        if not training:
            return images
        shape = ops.shape(images)
        n, h, w = shape[0], ops.cast(shape[1], "float32"), ops.cast(shape[2], "float32")
        ones, zeros = ops.ones((n,)), ops.zeros((n,))
        # forward map of the content about the centre: M = rotation . shear . zoom . flip
        fx = self._sign(n) if self.flip in ("horizontal", "both") else ones
        fy = self._sign(n) if self.flip in ("vertical", "both") else ones
        z = 1.0 + self._uniform(n, self.zoom) if self.zoom else ones
        kx = self._uniform(n, self.shear) if self.shear else zeros
        ky = self._uniform(n, self.shear) if self.shear else zeros
        theta = self._uniform(n, 2 * math.pi * self.rotate) if self.rotate else zeros
        cos, sin = ops.cos(theta), ops.sin(theta)
        # shear [[1, kx], [ky, 1]] . diag(z*fx, z*fy), then rotate
        s00, s01, s10, s11 = z * fx, kx * z * fy, ky * z * fx, z * fy
        m00, m01 = cos * s00 - sin * s10, cos * s01 - sin * s11
        m10, m11 = sin * s00 + cos * s10, sin * s01 + cos * s11
        # maximum shift in pixels along x and y; whole-pixel shifts add no blur
        crop_x = self.crop if self.crop >= 1 else self.crop * w
        crop_y = self.crop if self.crop >= 1 else self.crop * h
        max_x, max_y = crop_x + self.translate * w, crop_y + self.translate * h
        shifting = bool(self.crop or self.translate)
        tx = ops.round(self._uniform(n, 1.0) * max_x) if shifting else zeros
        ty = ops.round(self._uniform(n, 1.0) * max_y) if shifting else zeros
        # affine_transform wants the inverse map (output pixel -> source pixel)
        det = m00 * m11 - m01 * m10
        i00, i01, i10, i11 = m11 / det, -m01 / det, -m10 / det, m00 / det
        cx, cy = (w - 1.0) / 2.0, (h - 1.0) / 2.0
        a2 = cx - (i00 * (cx + tx) + i01 * (cy + ty))
        b2 = cy - (i10 * (cx + tx) + i11 * (cy + ty))
        transform = ops.stack([i00, i01, a2, i10, i11, b2, zeros, zeros], axis=1)
        return ops.image.affine_transform(images, transform, interpolation="bilinear", fill_mode="constant",
                                          fill_value=0.0, data_format="channels_last")

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return super().get_config() | {
            "flip": self.flip, "crop": self.crop, "translate": self.translate, "rotate": self.rotate,
            "zoom": self.zoom, "shear": self.shear, "seed": self.seed,
        }


class ClipPixels(keras.layers.Layer):
    """Keep pixels in [0, 255] after the augmentation layers."""

    def call(self, images):
        return ops.clip(images, 0.0, 255.0)

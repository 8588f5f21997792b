"""Image files (PNG, JPEG, ... of any size, gray or colour) -> the model's input pixels."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from zoo.errors import DataError


def load_image_files(paths, input_shape) -> np.ndarray:
    """(N, H, W, C) float32 pixels in [0, 255]: each file resized to H x W, converted to C channels."""
    height, width, channels = (int(v) for v in input_shape)
    return np.stack([load_image_file(p, height, width, channels) for p in paths]) if paths else \
        np.zeros((0, height, width, channels), "float32")


def load_image_file(path, height: int, width: int, channels: int) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    if not path.is_file():
        raise DataError(f"Image file not found: {path}. Check the path passed to --images.")
    try:
        with Image.open(path) as img:
            img.load()
            # drop alpha onto white (typical for PNG icons), then to the model's channel count
            if img.mode in ("RGBA", "LA") or (img.mode == "P" and "transparency" in img.info):
                rgba = img.convert("RGBA")
                img = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
                img.alpha_composite(rgba)
            img = img.convert("L" if channels == 1 else "RGB")
            if img.size != (width, height):
                img = img.resize((width, height), Image.Resampling.BILINEAR)
            arr = np.asarray(img, dtype="float32")
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise DataError(
            f"Cannot read {path} as an image ({type(exc).__name__}: {str(exc)[:120]}). "
            "Pass PNG or JPEG files to --images."
        ) from None
    return arr.reshape(height, width, channels)

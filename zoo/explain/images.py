"""Image files (PNG, JPEG, ... of any size, gray or colour) -> the model's input pixels."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from zoo.errors import DataError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")


def expand_image_paths(paths, option: str = "--images") -> list[Path]:
    """Files as given, folders replaced by the image files directly in them (sorted)."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found = sorted(f for f in p.iterdir() if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES)
            if not found:
                raise DataError(f"Folder {p} holds no image files ({', '.join(IMAGE_SUFFIXES)}); pass image "
                                f"files or a folder of them to {option}.")
            out.extend(found)
        else:
            out.append(p)
    return out


def load_image_files(paths, input_shape, option: str = "--images") -> np.ndarray:
    """(N, H, W, C) float32 pixels in [0, 255]: each file resized to H x W, converted to C channels."""
    height, width, channels = (int(v) for v in input_shape)
    return np.stack([load_image_file(p, height, width, channels, option) for p in paths]) if paths else \
        np.zeros((0, height, width, channels), "float32")


def display_images(paths, channels: int, max_side: int = 256) -> list[np.ndarray]:
    """The files as figures show them: own size and aspect (longest side at most ``max_side``), H x W x C."""
    from PIL import Image

    shown = []
    for p in paths:
        img = open_image(p, channels)
        scale = max_side / max(img.size)
        if scale < 1:
            img = img.resize((max(1, round(img.width * scale)), max(1, round(img.height * scale))), Image.BILINEAR)
        array = np.asarray(img, dtype="float32")
        shown.append(array[..., None] if array.ndim == 2 else array)
    return shown


def open_image(path, channels: int, option: str = "--images"):
    """The file as a PIL image in L (channels 1) or RGB mode, transparency flattened onto white."""
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    if not path.is_file():
        raise DataError(f"Image file not found: {path}. Check the path passed to {option}.")
    try:
        with Image.open(path) as img:
            img.load()
            # drop alpha onto white (typical for PNG icons), then to the model's channel count
            if img.mode in ("RGBA", "LA") or (img.mode == "P" and "transparency" in img.info):
                rgba = img.convert("RGBA")
                img = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
                img.alpha_composite(rgba)
            return img.convert("L" if channels == 1 else "RGB")
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise DataError(
            f"Cannot read {path} as an image ({type(exc).__name__}: {str(exc)[:120]}). "
            f"Pass PNG or JPEG files to {option}."
        ) from None


def load_image_file(path, height: int, width: int, channels: int, option: str = "--images") -> np.ndarray:
    from PIL import Image

    img = open_image(path, channels, option)
    if img.size != (width, height):
        img = img.resize((width, height), Image.Resampling.BILINEAR)
    return np.asarray(img, dtype="float32").reshape(height, width, channels)

"""IDX files (the MNIST family's format), gzipped or not, parsed with numpy and validated.

Layout: two zero bytes, a type code (0x08 = uint8), the number of dimensions, one big-endian
int32 per dimension, then the data. A wrong header or a short file is a DataError naming the file.
"""

from __future__ import annotations

import functools
import gzip
import math
import os
import zlib
from pathlib import Path

import numpy as np

from zoo.errors import DataError

_UINT8 = 0x08


def read_idx(path, expected_ndim: int) -> np.ndarray:
    """The array stored in an IDX file of unsigned bytes with ``expected_ndim`` dimensions."""
    path = Path(path)
    stat = path.stat()
    return _read_idx_cached(str(path), stat.st_mtime_ns, stat.st_size, expected_ndim)


@functools.lru_cache(maxsize=8)  # several load_dataset calls in one process parse each file once
def _read_idx_cached(path: str, _mtime: int, _size: int, expected_ndim: int) -> np.ndarray:
    raw = _read_bytes(path)
    what = f"{path} is not a valid IDX file"
    if len(raw) < 4:
        raise DataError(f"{what}: only {len(raw)} bytes. Re-download or reinstall the dataset.")
    zero1, zero2, dtype_code, ndim = raw[0], raw[1], raw[2], raw[3]
    if zero1 != 0 or zero2 != 0 or dtype_code != _UINT8 or ndim != expected_ndim:
        raise DataError(
            f"{what}: bad magic number 0x{raw[:4].hex()} (expected 0x000008{expected_ndim:02x}, "
            f"unsigned bytes in {expected_ndim} dimensions). The file is corrupt or not what its "
            "name says; re-download or reinstall the dataset."
        )
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"{what}: truncated header ({len(raw)} bytes). Re-download the file.")
    dims = tuple(int(d) for d in np.frombuffer(raw, dtype=">i4", count=ndim, offset=4))
    if min(dims) < 0:
        raise DataError(f"{what}: its header gives a negative size ({'x'.join(map(str, dims))}). Re-download the file.")
    expected = header + math.prod(dims)  # Python ints: a corrupt header cannot overflow the count
    if len(raw) != expected:
        state = "truncated" if len(raw) < expected else "longer than its header says"
        raise DataError(
            f"{path} is {state}: header says {'x'.join(map(str, dims))} = {expected} bytes, file "
            f"holds {len(raw)}. Re-download or reinstall the dataset."
        )
    array = np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)
    array.flags.writeable = False  # shared by the cache
    return array


def _read_bytes(path: str) -> bytes:
    try:
        with open(path, "rb") as fh:
            magic = fh.read(2)
            fh.seek(0)
            if magic == b"\x1f\x8b":
                return gzip.GzipFile(fileobj=fh).read()
            return fh.read()
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(
            f"Cannot read {path}: {exc}. The file is corrupt or truncated; re-download or reinstall it."
        ) from None


def read_idx_pair(images_path, labels_path) -> tuple[np.ndarray, np.ndarray]:
    """(images N,H,W,1 uint8, labels N int64), checking that the counts agree."""
    images = read_idx(images_path, 3)
    labels = read_idx(labels_path, 1)
    if len(images) != len(labels):
        raise DataError(
            f"{images_path} holds {len(images)} images but {labels_path} holds {len(labels)} labels; "
            "the files do not belong together. Re-download or reinstall the dataset."
        )
    return images[..., None], labels.astype(np.int64)


def write_idx(path, array: np.ndarray) -> None:
    """Write a uint8 array as IDX (gzipped when the name ends in .gz); used by tests and tools."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    payload = bytes([0, 0, _UINT8, array.ndim]) + np.asarray(array.shape, ">i4").tobytes() + array.tobytes()
    opener = gzip.open if str(path).endswith(".gz") else open
    tmp = f"{path}.tmp"
    with opener(tmp, "wb") as fh:
        fh.write(payload)
    os.replace(tmp, path)

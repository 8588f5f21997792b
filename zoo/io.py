"""Writing files so that a failure never leaves a half-written one: write a sibling, then rename."""

from __future__ import annotations

import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

# Test hook for the fault-injection tests (tests/test_fault_injection.py): "N:SIGNAL" makes this
# process send itself SIGNAL (KILL, INT or TERM) at its N-th publishing rename (counted from 1),
# "WHAT:SIGNAL" at the first one that publishes WHAT (e.g. "backup epoch 2:KILL").
FAULT_ENV = "ZOO_FAULT_AT"
_points_passed = 0


def fault_point(what: str) -> None:
    """Mark a point where a file or folder is about to be published by a rename."""
    global _points_passed
    spec = os.environ.get(FAULT_ENV)
    if not spec:
        return
    _points_passed += 1
    if os.environ.get("ZOO_FAULT_LOG"):
        with open(os.environ["ZOO_FAULT_LOG"], "a") as log:
            log.write(f"{_points_passed}\t{what}\n")
    point, _, name = spec.rpartition(":") if ":" in spec else (spec, "", "")
    if (int(point) == _points_passed) if point.isdigit() else (point == what):
        import signal

        os.kill(os.getpid(), getattr(signal, f"SIG{name or 'KILL'}"))


@contextmanager
def atomic_path(path):
    """Yield a temporary path next to ``path`` (same suffix); rename it onto ``path`` on success.

    Use for writers that want a file name (``model.save``, ``np.savez``, ``fig.savefig``).
    On any exception the temporary file is removed and ``path`` is left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".tmp{''.join(path.suffixes)}", dir=path.parent)
    os.close(fd)
    os.unlink(tmp)  # writers such as np.savez and keras want to create the file themselves
    try:
        yield Path(tmp)
        fault_point(path.name)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


@contextmanager
def output_dir(path):
    """The folder a command writes its outputs into, created here; removed again if the command fails.

    Only what this call created goes (an existing folder keeps its files), so a failure half way
    (a full disk, Ctrl-C) leaves nothing half-written behind.
    """
    import shutil

    path = Path(path)
    created = next((p for p in reversed([path, *path.parents]) if not p.exists()), None)
    path.mkdir(parents=True, exist_ok=True)
    try:
        yield path
    except BaseException:
        if created is not None:
            shutil.rmtree(created, ignore_errors=True)
        raise


def write_text(path, text: str) -> None:
    with atomic_path(path) as tmp:
        Path(tmp).write_text(text)


def write_json(path, obj) -> None:
    write_text(path, json.dumps(obj, indent=2, sort_keys=False, default=_jsonable) + "\n")


def _jsonable(value):
    # numpy scalars and arrays, paths and tuples appear in reports and configs
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


def check_output_dir(path, option: str = "--out") -> None:
    """Refuse, before any work, an output folder that cannot be one: an existing file, or under a file."""
    from zoo.errors import InvalidArgumentError

    if path is None:
        return
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise InvalidArgumentError(f"{option} {p} is a file; the outputs go into a folder. Pass a folder path.")
    for parent in p.parents:
        if parent.exists():
            if not parent.is_dir():
                raise InvalidArgumentError(f"{option} {p} lies under {parent}, which is a file. Pass another folder.")
            if not os.access(parent, os.W_OK):
                raise InvalidArgumentError(f"{option} {p}: cannot write into {parent} (read-only). Pass another folder.")
            break


def check_output_file(path, suffix: str, *, example: str, param: str = "out") -> Path:
    """Refuse, before any work, an output file path that cannot be one: a directory, a path under a
    file, a read-only folder, or another extension than ``suffix`` (e.g. ".png")."""
    from zoo.errors import PARAM, InvalidArgumentError

    p = Path(path)
    if p.is_dir():
        raise InvalidArgumentError(f"{PARAM} {p} is a directory; name a {suffix} file, e.g. {p / example}.", param=param)
    if p.suffix.lower() != suffix:
        raise InvalidArgumentError(f"{PARAM} must name a {suffix} file; got {p}.", param=param)
    for parent in p.parents:
        if parent.exists():
            if not parent.is_dir():
                raise InvalidArgumentError(f"{PARAM} {p} lies under {parent}, which is a file. Pass another path.",
                                           param=param)
            if not os.access(parent, os.W_OK):
                raise InvalidArgumentError(f"{PARAM} {p}: cannot write into {parent} (read-only). Pass another path.",
                                           param=param)
            break
    return p


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()

"""Writing files so that a failure never leaves a half-written one: write a sibling, then rename."""

from __future__ import annotations

import json
import os
import re
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
    On any exception the temporary file is removed and ``path`` is left as it was. The temporary
    name (``.STEM.PID-XXXXXXXX.tmp.SUFFIX``) carries the writer's pid, so that the next writer of
    ``path`` can tell a killed writer's leftover from a live one's: it is removed here, before writing.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_siblings(path)  # what a killed writer of this file left
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.{os.getpid()}-", suffix=f".tmp{''.join(path.suffixes)}",
                               dir=path.parent)
    os.close(fd)
    os.unlink(tmp)  # writers such as np.savez and keras want to create the file themselves
    try:
        yield Path(tmp)
        fault_point(path.name)
        os.replace(tmp, path)
    except OSError as exc:
        if exc.errno is None and _nearly_full(path.parent):  # numpy's tofile: "N requested and M written"
            import errno

            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path)) from exc
        raise
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _nearly_full(folder) -> bool:
    """Less than 1 MiB left on the disk of ``folder``: why a writer that gives no errno stopped short."""
    try:
        st = os.statvfs(folder)
    except OSError:
        return False
    return st.f_bavail * st.f_frsize < 1 << 20


# ---------------------------------------------------------------- output folders: published whole
#
# A command's output folder is written into a hidden staging sibling (``.NAME.staging-PID-XXXX``)
# and renamed into place only when complete: a kill at any instant leaves the old complete folder
# or the new complete one, never a mix. An existing folder is swapped with the staging one in one
# step (Linux renameat2 RENAME_EXCHANGE); where that is not available the old folder is first
# renamed aside (``.NAME.old-PID-XXXX``) and put back by the next run if the process died before
# the new one was in place. Every published folder holds a marker (OUTPUT_MARKER) naming the
# command, so a user's own folder is never replaced.

OUTPUT_MARKER = ".zoo-output.json"
_SIBLING = re.compile(r"\.(?P<name>.+)\.(?P<kind>staging|old)-(?P<pid>\d+)-[a-z0-9_]+")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    except (OverflowError, ValueError):
        return False
    return True


def _tmp_pattern(path: Path):
    """Temporary files of ``atomic_path(path)``: today's (with the writer's pid) and older ones (without)."""
    suffixes = "".join(path.suffixes)
    return re.compile(rf"\.{re.escape(path.stem)}\.(?:(?P<pid>\d+)-)?[a-z0-9_]+\.tmp{re.escape(suffixes)}")


def _remove(path: Path) -> None:
    import shutil

    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        try:
            path.unlink()
        except FileNotFoundError:
            pass


def remove_stale_siblings(path) -> None:
    """Clean up what a killed writer of ``path`` (a file or a folder) left next to it.

    Staging folders and temporary files of processes that are no longer alive are removed; an
    old output renamed aside (``.NAME.old-PID-XXXX``) goes back to ``path`` when ``path`` is
    missing (the writer died between the two renames of ``publish``), else it is removed. What a
    live process is writing is left alone. Call it before writing ``path``; ``output_dir`` does.
    """
    path = Path(os.path.abspath(path))
    parent = path.parent
    if not parent.is_dir():
        return
    tmp = _tmp_pattern(path)
    olds = []
    try:
        entries = list(os.scandir(parent))
    except OSError:
        return
    for entry in entries:
        m = _SIBLING.fullmatch(entry.name)
        if m and m["name"] == path.name:
            if _pid_alive(int(m["pid"])):
                continue
            if m["kind"] == "old":
                olds.append(Path(entry.path))
            else:
                _remove(Path(entry.path))
            continue
        t = tmp.fullmatch(entry.name)
        if t and entry.is_file(follow_symlinks=False) and not (t["pid"] and _pid_alive(int(t["pid"]))):
            _remove(Path(entry.path))
    olds.sort(key=lambda p: p.stat().st_mtime, reverse=True)
    if olds and not os.path.lexists(path):
        os.rename(olds.pop(0), path)  # the complete old output, back where it was
    for old in olds:
        _remove(old)


def _new_sibling_dir(path: Path, kind: str) -> Path:
    """A new empty folder ``.NAME.KIND-PID-XXXXXXXX`` next to ``path``, with the umask's mode (not mkdtemp's 0700)."""
    import secrets

    while True:
        candidate = path.parent / f".{path.name}.{kind}-{os.getpid()}-{secrets.token_hex(4)}"
        try:
            os.mkdir(candidate)
            return candidate
        except FileExistsError:
            continue


def staging_dir(path) -> Path:
    """A fresh hidden folder next to ``path`` to build it in (``.NAME.staging-PID-XXXXXXXX``); what is
    left of it after a kill is removed by the next ``remove_stale_siblings(path)``."""
    path = Path(os.path.abspath(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    return _new_sibling_dir(path, "staging")


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step (Linux renameat2 RENAME_EXCHANGE); False where not supported."""
    import ctypes
    import errno

    try:
        fn = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    fn.restype = ctypes.c_int
    at_fdcwd, rename_exchange = -100, 2
    if fn(at_fdcwd, os.fsencode(str(a)), at_fdcwd, os.fsencode(str(b)), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EPERM):
        return False  # a file system or kernel without it: the two-rename way
    raise OSError(err, os.strerror(err), str(b))


def publish(src, path) -> None:
    """Put the finished file or folder ``src`` (a sibling of ``path``) at ``path``, replacing what is there.

    A kill at any instant leaves ``path`` as it was or as ``src``: an existing folder is swapped
    in one step, or (without RENAME_EXCHANGE) renamed aside first and restored by the next
    ``remove_stale_siblings`` if the process died in between. The old one is then deleted.
    """
    src, path = Path(src), Path(os.path.abspath(path))
    label = f"{path.name}/" if src.is_dir() else path.name
    fault_point(label)
    if not os.path.lexists(path) or not (src.is_dir() and path.is_dir() and any(path.iterdir())):
        os.replace(src, path)  # a file, a new folder, or onto an empty folder: one rename
        return
    if _exchange(src, path):
        fault_point(f"{label} old")
        _remove(src)  # it now holds the old output
        return
    old = _new_sibling_dir(path, "old")
    os.rename(path, old)  # replaces the empty folder mkdtemp made
    try:
        fault_point(f"{label} old")
        os.rename(src, path)
    except BaseException:
        if not os.path.lexists(path):
            os.rename(old, path)
        raise
    _remove(old)


def _is_tmp_name(name: str) -> bool:
    return name.startswith(".") and ".tmp" in name


def _check_replaceable(path: Path, command, owns, what: str) -> None:
    """Refuse a non-empty folder that is not an output of ``command``: replacing it would delete its files.

    An output carries OUTPUT_MARKER naming its command; ``owns`` are the names (fnmatch patterns)
    the command writes, so that its folders written before the marker existed are recognised too.
    """
    from fnmatch import fnmatch

    from zoo.errors import InvalidArgumentError

    if not path.is_dir():
        return
    names = [e.name for e in os.scandir(path)]
    if not names:
        return
    if OUTPUT_MARKER in names:
        try:
            writer = json.loads((path / OUTPUT_MARKER).read_text()).get("command")
        except (OSError, ValueError, AttributeError):
            writer = None
        if writer == command or command is None:
            return
        if writer:
            raise InvalidArgumentError(
                f"{what} {path} holds the output of `{writer}`; `{command}` would replace it whole. "
                f"Pass another {what}.")
    foreign = sorted(n for n in names if n != OUTPUT_MARKER and not _is_tmp_name(n)
                     and not any(fnmatch(n, pat) for pat in owns))
    if foreign:
        shown = ", ".join(foreign[:3]) + (", ..." if len(foreign) > 3 else "")
        raise InvalidArgumentError(
            f"{what} {path} is a folder with other files in it ({shown}); the output replaces its folder whole, "
            f"so it would delete them. Pass a new or empty folder as {what}.")


@contextmanager
def output_dir(path, command: str | None = None, owns=()):
    """``with output_dir(out, "zoo eval") as stage:`` write the outputs into ``stage``; on success the
    folder ``stage`` is published at ``out`` whole (replacing an earlier output), else removed.

    A kill at any instant leaves ``out`` as the old complete output or the new one; what a killed
    run left next to ``out`` is cleaned up here first. Results and messages must name ``out``,
    never ``stage``. A non-empty folder that is no output of ``command`` (OUTPUT_MARKER naming
    another, or files outside ``owns``) is refused. Parents this call created are removed again on failure.
    """
    import datetime
    import shutil

    path = Path(path)
    parent = Path(os.path.abspath(path)).parent
    created = next((p for p in reversed([parent, *parent.parents]) if not p.exists()), None)
    parent.mkdir(parents=True, exist_ok=True)
    stage = None
    try:
        remove_stale_siblings(path)
        _check_replaceable(path, command, owns, "--out")
        stage = staging_dir(path)
        yield stage
        write_json(stage / OUTPUT_MARKER, {"command": command,
                                           "written": datetime.datetime.now().isoformat(timespec="seconds")})
        _check_replaceable(path, command, owns, "--out")  # files someone put there meanwhile
        publish(stage, path)
    except BaseException as exc:
        if stage is not None:
            name = getattr(exc, "filename", None) if isinstance(exc, OSError) else None
            if name and os.path.abspath(name).startswith(f"{stage}{os.sep}"):  # name the output, not the staging
                exc.filename = str(path / os.path.relpath(os.path.abspath(name), stage))
            shutil.rmtree(stage, ignore_errors=True)
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


def check_output_dir(path, option: str = "--out", owns=None, command: str | None = None) -> None:
    """Refuse, before any work, an output folder that cannot be one: an existing file, or under a file.

    With ``owns`` (the names ``command`` writes, see ``output_dir``), also a folder the output
    would replace that holds other files or another command's output, and the current folder or
    one above it.
    """
    from zoo.errors import InvalidArgumentError

    if path is None:
        return
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise InvalidArgumentError(f"{option} {p} is a file; the outputs go into a folder. Pass a folder path.")
    if owns is not None:
        here = Path.cwd().resolve()
        if p.exists() and (p.resolve() == here or p.resolve() in here.parents):
            raise InvalidArgumentError(f"{option} {p} is the current folder or holds it; the output replaces its "
                                       f"folder whole. Pass a new folder as {option}.")
        _check_replaceable(p, command, owns, option)
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

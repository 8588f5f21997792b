"""Every output folder (and file) of a command is a unit: a kill leaves the old output or the new one, whole.

`zoo eval`, `explain`, `attack` and `ensemble` build their folder in a hidden staging sibling that
``zoo.io.output_dir`` publishes in one rename; `features`, `predict --out` and `data preview` write
one file through ``atomic_path``. Each command here writes a complete "old" output, then reruns
with other options into the same place, killed (SIGKILL, via the ``ZOO_FAULT_AT`` hook of
``zoo.io.fault_point``) while staging, just before publishing and just after (before the old copy
is deleted); after each kill the output must be exactly the old one or the new one. One more run
must then leave the new output and no staging, old or temporary file beside or inside it.
"""

import hashlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import kit
import numpy as np
import pytest
from kit import invoke

from zoo.io import OUTPUT_MARKER


def run_zoo(*args, fault=None, cwd=None, no_exchange=False):
    patch = "import zoo.io; zoo.io._exchange = lambda a, b: False; " if no_exchange else ""
    return kit.run_zoo(*args, fault=fault, cwd=cwd, prelude=patch)


def snapshot(path: Path) -> dict:
    """{relative path: sha256} of a file or of every file of a folder (the marker aside: it holds a time)."""
    if path.is_file():
        return {".": hashlib.sha256(path.read_bytes()).hexdigest()}
    return {str(p.relative_to(path)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(path.rglob("*")) if p.is_file() and p.name != OUTPUT_MARKER}


def leftovers(out: Path) -> list[str]:
    """Hidden files or folders next to ``out`` or inside it, but the marker."""
    beside = [p.name for p in out.parent.iterdir() if p.name.startswith(".")]
    inside = [str(p.relative_to(out)) for p in out.rglob(".*") if p.name != OUTPUT_MARKER] if out.is_dir() else []
    return beside + inside


def _json(name, *keys):
    def value(out: Path):
        v = json.loads((out / name).read_text())
        for k in keys:
            v = v[k] if not callable(k) else k(v)
        return v
    return value


# command, output name, (old options, new options), names of the points to kill at, the new output's value
FOLDERS = [
    ("eval", ["eval", "simplenet"], "ev", (["--limit", "32"], ["--limit", "16"]),
     ["metrics.json", "ev/", "ev/ old"], _json("metrics.json", "samples"), 16),
    ("explain", ["explain", "simplenet"], "ex", (["--n", "4"], ["--n", "3"]),
     ["maps_gradient.npy", "ex/", "ex/ old"], _json("explain.json", "images", len), 3),
    ("attack", ["attack", "simplenet", "--eps", "2,8", "--png-count", "2"], "at", (["--n", "4"], ["--n", "3"]),
     ["accuracy_vs_eps.png", "at/", "at/ old"], _json("report.json", "samples"), 3),
    ("ensemble", ["ensemble", "simplenet", "lenet5"], "ens", (["--limit", "32"], ["--limit", "16"]),
     ["model.keras", "ens/", "ens/ old"], _json("report.json", "metrics", "samples"), 16),
]


@pytest.mark.slow
@pytest.mark.parametrize("case", FOLDERS, ids=[c[0] for c in FOLDERS])
def test_killed_folder_output_is_old_or_new_whole(case, tmp_path):
    _, argv, name, (old_opts, new_opts), kill_at, value, new_value = case
    out = tmp_path / name
    done = run_zoo(*argv, *old_opts, "--out", out)
    assert done.returncode == 0, done.stderr[-2000:]
    old = snapshot(out)
    assert old and (out / OUTPUT_MARKER).is_file()

    seen = []  # what each kill left: "old", or the new output's snapshot (checked against the last run)
    for point in kill_at:
        victim = run_zoo(*argv, *new_opts, "--out", out, fault=f"{point}:KILL")
        assert victim.returncode == -signal.SIGKILL, f"not killed at {point!r}: {victim.stderr[-1000:]}"
        now = snapshot(out)
        if now == old:
            seen.append((point, "old"))
        else:
            assert value(out) == new_value, f"killed at {point!r}: neither the old output nor the new one: {now}"
            seen.append((point, now))
    assert seen[0][1] == "old" and seen[-1][1] != "old"  # while staging: the old; after publishing: the new

    done = run_zoo(*argv, *new_opts, "--out", out)
    assert done.returncode == 0, done.stderr[-2000:]
    assert value(out) == new_value
    new = snapshot(out)
    for point, state in seen:
        if state != "old":
            assert set(state) == set(new), f"killed at {point!r}: files {sorted(state)} != {sorted(new)}"
    assert not leftovers(out), leftovers(out)


# single-file outputs: written through atomic_path; a kill before its rename leaves a temporary file
FILES = [
    ("features", ["features", "simplenet"], "f.npz", (["--limit", "32"], ["--limit", "16"])),
    ("predict", ["predict", "simplenet", "{img}"], "s.png", (["--top", "1"], ["--top", "2"])),
    ("data-preview", ["data", "preview", "fashion_mnist", "--n", "2"], "g.png", (["--seed", "1"], ["--seed", "2"])),
]


@pytest.mark.slow
@pytest.mark.parametrize("case", FILES, ids=[c[0] for c in FILES])
def test_killed_file_output_is_old_or_new_and_its_temporary_goes(case, tmp_path):
    from PIL import Image

    _, argv, name, (old_opts, new_opts) = case
    img = tmp_path / "img.png"
    Image.fromarray((np.random.default_rng(0).random((28, 28)) * 255).astype("uint8")).save(img)
    argv = [a.format(img=img) for a in argv]
    out = tmp_path / "out" / name
    done = run_zoo(*argv, *old_opts, "--out", out)
    assert done.returncode == 0, done.stderr[-2000:]
    old = snapshot(out)
    victim = run_zoo(*argv, *new_opts, "--out", out, fault=f"{name}:KILL")
    assert victim.returncode == -signal.SIGKILL, victim.stderr[-1000:]
    assert snapshot(out) == old
    assert leftovers(out)  # the killed writer's temporary file, until the next run
    done = run_zoo(*argv, *new_opts, "--out", out)
    assert done.returncode == 0, done.stderr[-2000:]
    assert snapshot(out) != old
    assert not leftovers(out), leftovers(out)


@pytest.mark.slow
def test_killed_between_the_two_renames_the_next_run_puts_the_old_folder_back(tmp_path):
    """Without RENAME_EXCHANGE the old folder is renamed aside first; killed then, the next run restores it."""
    from zoo.io import remove_stale_siblings

    out = tmp_path / "ev"
    argv = ["eval", "simplenet", "--out", out]
    assert run_zoo(*argv, "--limit", "32", no_exchange=True).returncode == 0
    old = snapshot(out)
    victim = run_zoo(*argv, "--limit", "16", fault="ev/ old:KILL", no_exchange=True)
    assert victim.returncode == -signal.SIGKILL, victim.stderr[-1000:]
    assert not out.exists() and [p for p in tmp_path.iterdir() if p.name.startswith(".ev.old-")]
    remove_stale_siblings(out)  # what the next writer of ev (or a reader's retry) does first
    assert snapshot(out) == old
    done = run_zoo(*argv, "--limit", "16", no_exchange=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert _json("metrics.json", "samples")(out) == 16 and not leftovers(out)


@pytest.mark.slow
@pytest.mark.parametrize("point", ["sm/", "sm/ old"])
def test_a_killed_savedmodel_export_over_an_earlier_one_leaves_one_whole_export(tmp_path, point):
    """zoo export --overwrite swaps the verified export in: killed before or after the swap, sm is the
    old export or the new one, whole; the next export removes the staging folder the kill left."""
    out = tmp_path / "sm"
    argv = ["export", "lenet5", "--format", "savedmodel", "--out", out, "--overwrite"]
    assert run_zoo(*argv).returncode == 0
    old = snapshot(out)
    victim = run_zoo("export", "simplenet", "--format", "savedmodel", "--out", out, "--overwrite",
                     fault=f"{point}:KILL")
    assert victim.returncode == -signal.SIGKILL, victim.stderr[-1000:]
    assert (out / "saved_model.pb").is_file()
    assert (snapshot(out) == old) == (point == "sm/")  # before the swap the old export, after it the new
    assert run_zoo(*argv).returncode == 0
    assert (out / "saved_model.pb").is_file() and not leftovers(out)


# ---------------------------------------------------------------- zoo.io's pieces, in-process (fast)


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def _write_folder(folder: Path, text: str, command="zoo test") -> Path:
    from zoo.io import output_dir

    with output_dir(folder, command, ("a.txt",)) as stage:
        (stage / "a.txt").write_text(text)
    return folder


@pytest.mark.parametrize("exchange", [True, False], ids=["exchange", "two-renames"])
def test_output_dir_replaces_an_earlier_output_whole(tmp_path, monkeypatch, exchange):
    import zoo.io

    if not exchange:
        monkeypatch.setattr(zoo.io, "_exchange", lambda a, b: False)
    out = _write_folder(tmp_path / "o", "old")
    _write_folder(out, "new")
    assert (out / "a.txt").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o"]
    assert json.loads((out / OUTPUT_MARKER).read_text())["command"] == "zoo test"


@pytest.mark.parametrize("exchange", [True, False], ids=["exchange", "two-renames"])
def test_a_failure_before_or_while_publishing_keeps_the_old_output(tmp_path, monkeypatch, exchange):
    import zoo.io

    if not exchange:
        monkeypatch.setattr(zoo.io, "_exchange", lambda a, b: False)
    out = _write_folder(tmp_path / "o", "old")

    class Stop(BaseException):
        pass

    for point in ("a.txt", "o/", "o/ old"):
        def stop(what, point=point):
            if what == point:
                raise Stop(what)

        monkeypatch.setattr(zoo.io, "fault_point", stop)
        try:
            with zoo.io.output_dir(out, "zoo test", ("a.txt",)) as stage:
                zoo.io.write_text(stage / "a.txt", "new")
        except Stop:
            pass
        if point == "o/ old" and exchange:  # already swapped: the new one is in place
            assert (out / "a.txt").read_text() == "new"
            zoo.io.write_text(out / "a.txt", "old")
        assert (out / "a.txt").read_text() == "old", point
        assert sorted(p.name for p in tmp_path.iterdir()) == ["o"], point


def test_the_next_run_restores_an_old_folder_left_aside_and_removes_dead_writers_leftovers(tmp_path):
    from zoo.io import remove_stale_siblings

    dead = _dead_pid()
    out = tmp_path / "o"
    aside = tmp_path / f".o.old-{dead}-0a1b2c3d"
    aside.mkdir()
    (aside / "a.txt").write_text("old")
    staging = tmp_path / f".o.staging-{dead}-deadbeef"
    staging.mkdir()
    (staging / "a.txt").write_text("half")
    live = tmp_path / f".o.staging-{os.getpid()}-0123abcd"  # a live writer's: left alone
    live.mkdir()
    tmp_file = tmp_path / f".g.{dead}-abcd1234.tmp.png"
    tmp_file.write_bytes(b"x")
    older_tmp = tmp_path / ".g.abcd1234.tmp.png"  # written before temporary names carried a pid
    older_tmp.write_bytes(b"x")
    remove_stale_siblings(out)
    assert (out / "a.txt").read_text() == "old"
    assert not aside.exists() and not staging.exists() and live.exists()
    remove_stale_siblings(tmp_path / "g.png")
    assert not tmp_file.exists() and not older_tmp.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["o", live.name])


def test_a_folder_of_other_files_is_refused_before_any_work(tmp_path):
    from zoo.errors import ZooError
    from zoo.io import check_output_dir, output_dir

    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.tex").write_text("years of work")
    with pytest.raises(ZooError, match=r"--out .*mine is a folder with other files in it \(thesis.tex\)"):
        check_output_dir(mine, owns=("a.txt",), command="zoo test")
    with pytest.raises(ZooError):
        with output_dir(mine, "zoo test", ("a.txt",)) as stage:
            (stage / "a.txt").write_text("x")
    assert sorted(p.name for p in mine.iterdir()) == ["thesis.tex"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine"]
    other = _write_folder(tmp_path / "other", "x", command="zoo ensemble")  # another command's output
    with pytest.raises(ZooError, match="holds the output of `zoo ensemble`"):
        check_output_dir(other, owns=("a.txt",), command="zoo test")
    legacy = tmp_path / "legacy"  # written before the marker: only names the command writes
    legacy.mkdir()
    (legacy / "a.txt").write_text("x")
    check_output_dir(legacy, owns=("a.txt",), command="zoo test")
    check_output_dir(tmp_path / "new", owns=("a.txt",), command="zoo test")


def test_a_failed_output_leaves_nothing_and_names_the_output_not_the_staging(tmp_path):
    import errno

    from zoo.io import output_dir

    out = tmp_path / "a" / "b"
    with pytest.raises(OSError) as info:
        with output_dir(out, "zoo test") as stage:
            raise OSError(errno.ENOSPC, "No space left on device", str(stage / "x.npy"))
    assert info.value.filename == str(out / "x.npy")
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------- a nearly full disk: one clear line, nothing left


@pytest.fixture
def nearly_full(tmp_path):
    """A 256 KiB tmpfs at tmp_path/fs with ``free`` KiB left (numpy then stops short without an errno)."""
    import shutil

    point = tmp_path / "fs"
    point.mkdir()
    if shutil.which("mount") is None or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(point)],
                                                       capture_output=True).returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root)")

    def fill(free_kib):
        (point / "filler").unlink(missing_ok=True)
        (point / "filler").write_bytes(b"\0" * ((256 - free_kib) * 1024))
        return point

    yield fill
    subprocess.run(["umount", str(point)], capture_output=True)


DISK_CASES = [
    ("eval", ["eval", "simplenet", "--limit", "32", "--out", "{fs}/o"]),
    ("explain", ["explain", "simplenet", "--n", "16", "--out", "{fs}/o"]),
    ("attack", ["attack", "simplenet", "--n", "8", "--out", "{fs}/o"]),
    ("ensemble", ["ensemble", "simplenet", "lenet5", "--limit", "32", "--out", "{fs}/o"]),
    ("features", ["features", "simplenet", "--limit", "600", "--out", "{fs}/o.npz"]),
    ("data-preview", ["data", "preview", "fashion_mnist", "--n", "16", "--out", "{fs}/o.png"]),
]


@pytest.mark.parametrize("case", DISK_CASES, ids=[c[0] for c in DISK_CASES])
def test_a_full_disk_ends_in_one_clear_line_and_leaves_nothing(case, nearly_full):
    _, argv = case
    for free in (8, 40):
        fs = nearly_full(free)
        result = invoke(*[a.format(fs=fs) for a in argv])
        text = result.output
        assert result.exit_code == 1, text
        assert "Unexpected error" not in text and "No space left on the device" in text, text
        assert ".staging-" not in text and len([line for line in text.splitlines() if line.strip()]) <= 3, text
        assert sorted(p.name for p in fs.iterdir()) == ["filler"], free

"""What every command shares: consoles, friendly errors, small option parsers."""

from __future__ import annotations

import functools
import importlib.abc
import importlib.util
import os
import sys

import typer
from rich.console import Console

from zoo.progress import ConsoleProgress

console = Console()
err_console = Console(stderr=True)


def friendly_errors(fn):
    """Turn a ZooError into one or two red lines and a non-zero exit, never a traceback.

    Anything unexpected is reported in one line too; set ZOO_DEBUG=1 to see the traceback.
    """

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        from rich.markup import escape

        from zoo.errors import ZooError

        try:
            return fn(*args, **kwargs)
        except ZooError as exc:
            text = exc.worded(flag_of(exc.param)) if exc.param else str(exc)
            err_console.print(f"[bold red]Error:[/] {escape(text)}", highlight=False, soft_wrap=True)
            raise typer.Exit(exc.exit_code) from None
        except (typer.Exit, typer.Abort, SystemExit):
            raise
        except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM during a download: the library may say what it undid
            said = f" {escape(str(exc.args[0]))}" if exc.args and isinstance(exc.args[0], str) else ""
            err_console.print(f"[bold red]Interrupted:[/]{said}" if said else "[bold red]Interrupted.[/]",
                              highlight=False, soft_wrap=True)
            raise typer.Exit(130) from None
        except (Exception, MemoryError) as exc:  # a bug or an unforeseen input: still no traceback by default
            resource = resource_message(exc)  # out of memory or disk, a read-only disk: its own line
            if resource and not os.environ.get("ZOO_DEBUG"):
                err_console.print(f"[bold red]Error:[/] {escape(resource)}", highlight=False, soft_wrap=True)
                raise typer.Exit(1) from None
            if os.environ.get("ZOO_DEBUG"):
                raise
            msg = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""
            err_console.print(
                f"[bold red]Unexpected error ({type(exc).__name__}):[/] {escape(msg)}\n"
                "Set ZOO_DEBUG=1 to see the traceback, and please report it.",
                highlight=False,
                soft_wrap=True,
            )
            raise typer.Exit(1) from None

    return wrapper


def flag_of(param: str) -> str:
    """The command-line flag of a library parameter: batch_size -> --batch-size (prose stays prose)."""
    return "--" + param.replace("_", "-") if param.isidentifier() else param


def _in_flags(note) -> str:
    """A library note in the CLI's words: one that names Python parameters (``.worded``) names the flags."""
    return note.worded(flag_of) if hasattr(note, "worded") else str(note)


# What every command passes its library task as ``progress=`` (zoo/progress.py): dim notes, a spinner per phase.
console_progress = ConsoleProgress(console, words=_in_flags)


def _memory_gib() -> str:
    try:
        return f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB"
    except (ValueError, OSError, AttributeError):
        return "its memory"


def resource_message(exc) -> str | None:
    """One line for running out of memory or disk, or a file system refusing a write; None otherwise."""
    import errno

    if isinstance(exc, MemoryError) or type(exc).__name__ == "ResourceExhaustedError":
        what = str(getattr(exc, "message", "") or exc).strip().splitlines()
        detail = f" ({what[0][:160]})" if what and what[0] else ""
        return (f"Out of memory{detail}: this needs more than the machine's {_memory_gib()}. Lower --batch-size, "
                "--input-shape or --limit; an interrupted `zoo train` continues with --resume.")
    if not isinstance(exc, OSError):
        return None
    where = f" writing {exc.filename}" if getattr(exc, "filename", None) else ""
    if exc.errno == errno.ENOSPC:
        return (f"No space left on the device{where}. Free some space and run the command again; an interrupted "
                "`zoo train` continues with --resume (its last finished epoch is kept).")
    if exc.errno == errno.EROFS:
        return f"The file system is read-only{where}. Pass an --out on a writable disk."
    if exc.errno == errno.EDQUOT:
        return f"Disk quota exceeded{where}. Free some space, then run again (--resume continues a training)."
    return None


def parse_int_list(text: str, what: str) -> tuple[int, ...]:
    """'28,28,1' -> (28, 28, 1), or a ZooError naming the option and the value received."""
    from zoo.errors import InvalidArgumentError

    try:
        return tuple(int(v) for v in text.replace("x", ",").split(",") if v.strip() != "")
    except ValueError:
        raise InvalidArgumentError(
            f"{what} must be comma-separated integers; got {text!r}."
        ) from None


def parse_input_shape(text: str | None):
    """'H,W,C' -> (H, W, C) checked (positive, 1 or 3 channels), None stays None."""
    if text is None:
        return None
    from zoo.registry import check_input_shape

    return check_input_shape(parse_int_list(text, "--input-shape"))


def quiet_tensorflow() -> None:
    """Hide TensorFlow's C++ start-up chatter (unless ZOO_DEBUG is set), keeping imports lazy.

    TF_CPP_MIN_LOG_LEVEL silences the C++ logs once absl logging is set up, but TensorFlow 2.21
    prints its oneDNN/CUDA notices before that, straight to file descriptor 2. So the first
    ``import tensorflow`` runs with fd 2 pointed at /dev/null; Python exceptions still propagate.
    """
    if os.environ.get("ZOO_DEBUG"):
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if "tensorflow" not in sys.modules and not any(isinstance(f, _QuietImport) for f in sys.meta_path):
        sys.meta_path.insert(0, _QuietImport())


class _QuietImport(importlib.abc.MetaPathFinder):
    """Finds ``tensorflow`` through the normal finders, then runs its import with fd 2 muted."""

    def find_spec(self, name, path, target=None):
        if name != "tensorflow":
            return None
        sys.meta_path.remove(self)  # the normal finders do the finding
        try:
            spec = importlib.util.find_spec(name)
        finally:  # a mere probe (TFDS asks whether TensorFlow is installed) must not use the hook up
            sys.meta_path.insert(0, self)
        if spec is None or spec.loader is None:
            return spec
        exec_module = spec.loader.exec_module

        def exec_quietly(module):
            if self in sys.meta_path:  # once only: the import is happening now
                sys.meta_path.remove(self)
            sys.stderr.flush()
            saved = os.dup(2)
            devnull = os.open(os.devnull, os.O_WRONLY)
            try:
                os.dup2(devnull, 2)
                exec_module(module)
            finally:
                os.dup2(saved, 2)
                os.close(saved)
                os.close(devnull)

        spec.loader.exec_module = exec_quietly
        return spec


def print_table(table, *, drop=(), keep=1, hint: str | None = None, out=None) -> None:
    """Print a rich table whole: no column is ever cut to "Test a…".

    Not a terminal (a pipe, a file, a test): as wide as the table needs for every cell of its
    one-line columns (prose columns may still wrap), so that ``zoo weights | cat`` keeps every header
    and cell. A terminal narrower than the table: the columns named in ``drop`` (least important
    first) fold onto more lines first, never below their longest word; when that is not enough they
    go, one at a time, and a dim line names them (and ``hint``, e.g. "--json has everything"). The
    first ``keep`` columns (the names) never go.
    """
    from rich.markup import escape

    out = out or console
    _, _, need, natural = _widths(table, out)
    if natural <= out.width:
        out.print(table)
        return
    columns, hidden = list(table.columns), []
    if not out.is_terminal:
        width = max(out.width, need)
        if width > out.width:  # a console of its own at that width: the shared one keeps its own
            out = Console(file=out.file, width=width, color_system=None, no_color=out.no_color, highlight=False)
        out.print(_fold_to(table, columns, drop, keep, out) or table)
        return
    fitted = _fold_to(table, columns, drop, keep, out)
    for name in drop:
        if fitted is not None:
            break
        kept = [c for c in columns if c.header != name]
        if keep <= len(kept) < len(columns):
            hidden.append(name)
            columns = kept
            fitted = _fold_to(table, columns, drop, keep, out)
    if fitted is None:  # nothing left to fold or hide: rich shares the width out, folding every cell
        import dataclasses

        fitted = _with_columns(table, [dataclasses.replace(c, no_wrap=False, overflow="fold") for c in columns])
    out.print(fitted)
    if hidden:
        out.print(f"[dim]Not shown in {out.width} columns: {escape(', '.join(hidden))}"
                  + (f"; {escape(hint)}" if hint else "") + ".[/]", highlight=False)


def _widths(table, out):
    """(each column's measure, the table's borders, the width it needs unclipped, its natural width).

    Unclipped: one-line (no_wrap) columns whole, the others down to their longest word.
    """
    wide = out.options.update_width(100_000)
    measures = [table._measure_column(out, wide, c) for c in table.columns]  # rich's own, padding included
    extra = table._extra_width
    need = sum(m.maximum if c.no_wrap else m.minimum for m, c in zip(measures, table.columns)) + extra
    return measures, extra, need, sum(m.maximum for m in measures) + extra


def _fold_to(table, columns, drop, keep, out):
    """``table`` with ``columns``, narrowed to ``out.width`` by folding, never below a column's longest
    word: the ``drop`` ones first (least important first), then the other wrapping ones from the right,
    the ``keep`` ones last; None when that cannot fit."""
    import dataclasses

    shown = _with_columns(table, columns)
    measures, extra, _, natural = _widths(shown, out)
    widths = [m.maximum for m in measures]
    excess = natural - out.width
    index = {c.header: i for i, c in enumerate(shown.columns)}
    order = [index[n] for n in drop if n in index and index[n] >= keep]
    order += [i for i in reversed(range(len(columns))) if i not in order and not shown.columns[i].no_wrap]
    order = [i for i in order if i >= keep] + [i for i in order if i < keep]
    for i in order:
        if excess <= 0:
            break
        cut = min(excess, widths[i] - measures[i].minimum)
        if cut > 0:
            widths[i] -= cut
            excess -= cut
            shown.columns[i] = dataclasses.replace(shown.columns[i], no_wrap=False, overflow="fold",
                                                   width=widths[i] - shown._get_padding_width(i))
    return shown if excess <= 0 else None


def _with_columns(table, columns):
    """A copy of ``table`` showing only ``columns`` (each keeps its cells)."""
    import copy
    import dataclasses

    shown = copy.copy(table)
    shown.columns = [dataclasses.replace(c, _index=i) for i, c in enumerate(columns)]
    return shown


def is_interactive() -> bool:
    return sys.stdout.isatty()


def complete_model_names(incomplete: str) -> list[str]:
    """Shell completion: registered model names (from the catalogue: no TensorFlow import)."""
    from zoo.catalog import load_catalog

    return [name for name in load_catalog() if name.startswith(incomplete)]


def complete_run_or_model(incomplete: str) -> list[str]:
    """Shell completion: shipped model names, then run directories and .keras files."""
    import glob

    from zoo.registry import load_weights_manifest

    names = [name for name in load_weights_manifest() if name.startswith(incomplete)]
    paths = [p for p in sorted(glob.glob(glob.escape(incomplete) + "*"))
             if os.path.isdir(p) or p.endswith(".keras")]
    return names + [p + "/" if os.path.isdir(p) else p for p in paths]

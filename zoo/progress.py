"""How a long library task tells its user what it is doing: one small interface, ``Progress``.

A task (``run_attack``, ``run_explain``, ``evaluate_ensemble``, ``extract_features``, the sanity
check) takes ``progress=`` and never prints::

    progress.note("Resizing 28x28 images to 32x32 ...")   # something the user should read
    with progress.phase("Loading cifar10 (test)..."):       # a long step without a count
        ...
    progress.step(3, 12, "randomised: conv2")              # done of total, and what was just done

``Progress()`` itself does nothing (the default: a task called from Python stays quiet);
``Notes`` keeps what it was told (tests, notebooks); ``ConsoleProgress`` prints with rich (the CLI,
``zoo.train``). Ground floor: nothing from zoo, rich imported only by ``ConsoleProgress``.
"""

from __future__ import annotations

import contextlib
from typing import Callable, ContextManager


class Progress:
    """Says nothing. Subclass it and override what you want to show."""

    def note(self, text) -> None:
        """A remark for the user (a resize, a resume, a fallback). ``text`` may be a rich note with
        ``.worded(flag_of)`` (the CLI words its parameters as flags); ``str(text)`` reads in Python."""

    def phase(self, text: str) -> ContextManager:
        """A long step without a count: ``with progress.phase("Attacking ..."):``."""
        return contextlib.nullcontext()

    def step(self, done: int, total: int, what: str = "") -> None:
        """``done`` of ``total`` units are finished; ``what`` names the one under way."""


SILENT = Progress()


class Notes(Progress):
    """Keeps every note, phase and step as plain text in ``.notes`` (in the order they came)."""

    def __init__(self):
        self.notes: list[str] = []

    def note(self, text) -> None:
        self.notes.append(str(text))

    def phase(self, text: str) -> ContextManager:
        self.notes.append(str(text))
        return contextlib.nullcontext()

    def step(self, done: int, total: int, what: str = "") -> None:
        self.notes.append(f"{done}/{total} {what}".rstrip())


class ConsoleProgress(Progress):
    """Prints to a rich Console: notes (dim, by default), phases as a spinner, steps as indented lines.

    ``words`` turns a note into its text (the CLI maps a library note's parameters to flags).
    """

    def __init__(self, console, *, dim: bool = True, words: Callable[[object], str] = str):
        self.console, self.dim, self.words = console, dim, words

    def note(self, text) -> None:
        text = self.words(text)
        if self.dim:
            from rich.markup import escape

            self.console.print(f"[dim]{escape(text)}[/]", highlight=False)
        else:
            self.console.print(text, markup=False, highlight=False)

    def phase(self, text: str) -> ContextManager:
        return self.console.status(text)

    def step(self, done: int, total: int, what: str = "") -> None:
        self.note(f"  {what}" if what else f"  {done}/{total}")

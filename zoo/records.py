"""``Registry``: the one vocabulary of the zoo's four single lists (models, explain methods, attacks,
data sources).

Each list is a ``Registry`` of frozen records that one file each registers. Every reader speaks
the same four words: ``register(record)``, ``get(name)`` (a name or an alias, else a ZooError
with close matches), ``names()`` and ``records()`` (name -> record, in listing order), so a
contributor who knows one registry knows all four. Reading a registry imports the files that
register into it (``load``), so importing this module, or a registry module, stays cheap.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Callable, Generic, Iterator, TypeVar

from zoo.errors import UnknownNameError, close_matches_hint

R = TypeVar("R")


def import_package(package: str, suffix: str = "") -> Callable[[], None]:
    """A ``load`` that imports every module of ``package`` (ending in ``suffix``): each registers its record."""

    def load() -> None:
        pkg = importlib.import_module(package)
        for info in pkgutil.iter_modules(pkg.__path__):
            if info.name.endswith(suffix):
                importlib.import_module(f"{package}.{info.name}")

    return load


class Registry(Generic[R]):
    """Records by name. ``kind`` names them in messages ("model", "attack method").

    ``key`` gives a record's name, ``order`` its listing position, ``aliases`` its other names;
    ``extra`` are words the callers accept beside the names (explain's "all"), offered in hints.
    ``hint`` ends the unknown-name message (e.g. " Run `zoo models` for the full list.").
    """

    def __init__(self, kind: str, *, load: Callable[[], None], key: Callable[[R], str] = lambda r: r.name,
                 order: Callable[[R], object] = lambda r: 0, aliases: Callable[[R], tuple] = lambda r: (),
                 extra: tuple[str, ...] = (), hint: str = ""):
        self.kind, self.hint, self.extra = kind, hint, extra
        self._load, self._key, self._order, self._aliases = load, key, order, aliases
        self._records: dict[str, R] = {}

    def register(self, record: R) -> R:
        name = self._key(record)
        if name in self._records:
            raise ValueError(f"{self.kind} {name!r} is registered twice")
        self._records[name] = record
        return record

    def records(self) -> dict[str, R]:
        """Name -> record, in listing order."""
        self._load()
        return dict(sorted(self._records.items(), key=lambda kv: (self._order(kv[1]), kv[0])))

    def names(self) -> tuple[str, ...]:
        return tuple(self.records())

    def get(self, name) -> R:
        """The record ``name`` names (exactly, then ignoring case and ``-``/``_``, then by alias)."""
        records = self.records()
        if name in records:
            return records[name]
        def norm(text) -> str:
            return str(text).strip().lower().replace("-", "_")

        for record_name, record in records.items():
            if norm(name) in {norm(n) for n in (record_name, *self._aliases(record))}:
                return record
        raise UnknownNameError(f"Unknown {self.kind} {name!r}." +
                               close_matches_hint(str(name), (*records, *self.extra)) + self.hint)

    def __contains__(self, name) -> bool:
        return name in self.records()

    def __iter__(self) -> Iterator[R]:
        return iter(self.records().values())

    def __len__(self) -> int:
        return len(self.records())

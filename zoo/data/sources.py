"""load_dataset: one entry point for every source, and the catalogue behind `zoo datasets`.

Sources are records, one file each (``zoo/data/*_source.py``): ``fashion_mnist`` / ``mnist`` (IDX
files on disk, or TFDS; ``idx_source.py``), ``tfds:NAME`` (``tfds_source.py``), ``folder:PATH``
(one subfolder per class; ``folder_source.py``) and ``npz:PATH`` (arrays ``x`` and ``y``;
``npz_source.py``). A new source is a new ``*_source.py`` file that calls ``register``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from zoo.errors import DataError, InvalidArgumentError, UnknownNameError, close_matches_hint
from zoo.records import Registry, import_package

if TYPE_CHECKING:
    from zoo.data.dataset import Dataset


@dataclass(frozen=True)
class Source:
    """One kind of dataset spec: ``PREFIX:ARG`` (or one of ``names``), how to load and list it."""

    usage: str  # how a spec of this source is written: "tfds:NAME", "fashion_mnist"
    load: Callable  # (arg, *, data_dir, download, on_bad_image, val_fraction, seed, limit) -> Dataset
    prefix: str | None = None  # "tfds" for "tfds:NAME"; None for a source of named datasets
    names: dict | None = None  # bare name (and alias) -> arg, for named datasets
    claims_path: Callable | None = None  # a bare path this source reads (a folder, an .npz file)
    rows: Callable | None = None  # data_dir -> the `zoo datasets` rows of what is on this machine
    template: dict | None = None  # the `zoo datasets` row that says how to write such a spec
    download: Callable | None = None  # (arg, data_dir) -> where it was prepared
    tfds_names: tuple[str, ...] = ()  # TFDS datasets this source serves under its own names
    order: int = 100  # position in `zoo datasets`

    @property
    def name(self) -> str:
        """"tfds", "folder", "npz"; "idx" for the named IDX datasets (the file is ``<name>_source.py``)."""
        return self.prefix or "idx"


# In `zoo datasets` order; each zoo/data/*_source.py registers its own when imported.
SOURCES: Registry[Source] = Registry("dataset source", load=import_package("zoo.data", suffix="_source"),
                                     order=lambda s: s.order)
register = SOURCES.register


def load_dataset(
    spec: str = "fashion_mnist",
    *,
    data_dir=None,
    download: bool = False,
    val_fraction: float = 0.1,
    seed: int = 0,
    limit: int | None = None,
    on_bad_image: str = "fail",
) -> Dataset:
    """Load a dataset by spec; splits are unbatched ``(uint8 HxWxC, int64)`` tf.data datasets.

    ``val_fraction`` of train becomes val (seeded, reproducible) unless the source has its own;
    ``limit`` caps every split at that many examples (quick runs).
    """
    from zoo.data.splits import check_split_args

    check_split_args(val_fraction, limit)
    if on_bad_image not in ("fail", "skip"):
        raise InvalidArgumentError(f"on_bad_image must be 'fail' or 'skip'; got {on_bad_image!r}.")
    source, arg = resolve_spec(spec)
    try:
        return source.load(arg, data_dir=data_dir, download=download, on_bad_image=on_bad_image,
                           val_fraction=val_fraction, seed=seed, limit=limit)
    except ModuleNotFoundError as exc:  # JAX or PyTorch without TensorFlow: only in-memory data has a path
        if (exc.name or "").split(".")[0] not in ("tensorflow", "tensorflow_datasets"):
            raise
        raise DataError(f"{spec!r} is read through tf.data, and {exc.name} is not installed here: pip install "
                        f"{exc.name.split('.')[0].replace('_', '-')}, or use an in-memory dataset (fashion_mnist, "
                        "mnist, npz:FILE), which JAX and PyTorch read without it.") from None


def resolve_spec(spec) -> tuple[Source, str]:
    """(the source, its argument) of a spec: 'tfds:cifar10' -> (TFDS, 'cifar10') ..."""
    if isinstance(spec, os.PathLike):
        spec = os.fspath(spec)
    if not isinstance(spec, str) or not spec.strip():
        raise InvalidArgumentError(f"A dataset spec must be a non-empty string; got {spec!r}.")
    spec = spec.strip()
    table = list(SOURCES)
    for source in table:
        if source.prefix and spec.lower().startswith(source.prefix + ":"):
            arg = spec[len(source.prefix) + 1:].strip()
            if not arg:
                raise InvalidArgumentError(
                    f"Dataset spec {spec!r} lacks its argument: write {source.usage}.")
            return source, arg
    for source in table:
        key = spec.lower()
        for candidate in (key, key.replace("-", "_")):
            if source.names and candidate in source.names:
                return source, source.names[candidate]
    for source in table:  # a bare path is understood too: a directory of class folders, an .npz file
        if source.claims_path and source.claims_path(spec):
            return source, spec
    choices = [name for s in table if s.names for name in s.names] + [s.usage for s in table if s.prefix]
    raise UnknownNameError(f"Unknown dataset {spec!r}." + close_matches_hint(spec, choices))


def parse_spec(spec) -> tuple[str, str]:
    """(kind, argument): 'fashion_mnist' -> ('idx', 'fashion_mnist'); 'tfds:cifar10' -> ('tfds', 'cifar10')."""
    source, arg = resolve_spec(spec)
    return source.name, arg


def available_datasets(data_dir=None) -> list[dict]:
    """What `zoo datasets` shows: each source, where it was found or how to get it, classes, sizes."""
    table = list(SOURCES)
    served = {f"tfds:{name}" for s in table for name in s.tfds_names}  # listed under their own names
    rows = [row for s in table if s.rows for row in s.rows(data_dir) if row["name"] not in served]
    return rows + [s.template for s in table if s.template]


def download(spec: str, data_dir=None) -> str:
    """Download and prepare a dataset (``fashion_mnist``, ``mnist`` or ``tfds:NAME``, through TFDS).

    Returns where it was prepared.
    """
    source, arg = resolve_spec(spec)
    if source.download is None:
        can = ", ".join(s.usage for s in SOURCES if s.download)
        raise DataError(f"Only these datasets can be downloaded: {can}; got {spec!r}.")
    return source.download(arg, data_dir)


# ---------------------------------------------------------------- downloads: fail fast offline

REACH_TIMEOUT_S = 3.0  # per host, all hosts at once: an offline download fails in seconds, not minutes


def _host_port(url: str) -> tuple[str, int] | None:
    """(host, port) a download of ``url`` connects to first: its proxy when one applies (the env's)."""
    import urllib.parse
    import urllib.request

    parts = urllib.parse.urlsplit(url if "//" in url else f"https://{url}")
    if not parts.hostname:
        return None
    scheme = parts.scheme or "https"
    proxy = urllib.request.getproxies().get(scheme)
    if proxy and not urllib.request.proxy_bypass(parts.hostname):
        via = urllib.parse.urlsplit(proxy if "//" in proxy else f"http://{proxy}")
        if via.hostname:
            return via.hostname, via.port or (443 if via.scheme == "https" else 80)
    return parts.hostname, parts.port or (80 if scheme == "http" else 443)


def _reach(host: str, port: int, timeout: float) -> str | None:
    """None when a TCP connection to host:port opens within ``timeout`` s, else why not (DNS, refused ...)."""
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        return f"no DNS answer: {exc.strerror or exc}"
    except OSError as exc:
        return f"{exc.strerror or exc}"
    last = "no address"
    for family, kind, proto, _, address in infos:
        try:
            with socket.socket(family, kind, proto) as s:
                s.settimeout(timeout)
                s.connect(address)
            return None
        except socket.timeout:
            last = f"no answer within {timeout:g} s"
        except OSError as exc:
            last = exc.strerror or str(exc)
    return last


def unreachable_hosts(urls, timeout: float = REACH_TIMEOUT_S) -> dict[str, str]:
    """``{host: why}`` (``host:port`` for an unusual port) for each host of ``urls`` that cannot be reached; empty when all can.

    One DNS lookup and TCP connect per distinct host, all in parallel, the whole check bounded by
    about ``timeout`` seconds (a lookup that hangs counts as unreachable). Nothing is sent.
    """
    import threading

    targets = sorted({hp for hp in map(_host_port, urls) if hp})
    found: dict[tuple, str | None] = {}

    def probe(host, port):
        found[host, port] = _reach(host, port, timeout)

    threads = [threading.Thread(target=probe, args=t, daemon=True) for t in targets]
    for t in threads:
        t.start()
    import time

    deadline = time.monotonic() + timeout + 0.5
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    late = f"no answer within {timeout:g} s"
    return {(h if p in (80, 443) else f"{h}:{p}"): found.get((h, p)) or late for h, p in targets
            if found.get((h, p), late) is not None}

"""Run directories and model files: what eval, explain, attack and ensemble accept.

A run directory holds ``config.json``, ``model.keras``, ``history.csv``, ``metrics.json`` ...
Every command that takes a model accepts a run directory, a ``.keras`` file, or the name of a model
whose trained weights ship with the package (``weights/manifest.json``, e.g. ``simplenet``).
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

from zoo.errors import InvalidArgumentError, ModelFileError, UnknownNameError, close_matches_hint
from zoo.pretrained import pretrained_names, shipped_model

MODEL_FILE = "model.keras"
CONFIG_FILE = "config.json"
HISTORY_FILE = "history.csv"
METRICS_FILE = "metrics.json"
BACKUP_DIR = "checkpoints/backup"


def resolve_model_file(path) -> Path:
    """The ``.keras`` file behind a run directory, a file path or a shipped model's name."""
    p = Path(path)
    if not p.exists() and p.name == str(path):
        shipped = shipped_model(str(path))
        if shipped is not None:
            return shipped[0]
    if p.is_dir():
        f = p / MODEL_FILE
        if not f.is_file():
            raise ModelFileError(
                f"{p} is a directory without {MODEL_FILE}; pass a run directory written by "
                "`zoo train` (finished, or resumed to the end) or a .keras file."
            )
        return f
    if not p.exists():
        raise ModelFileError(f"No such run directory or model file: {p}. Check the path.")
    if p.suffix != ".keras":
        raise ModelFileError(f"{p} is not a .keras model file; pass a run directory or a .keras file.")
    return p


def read_run_config(path) -> dict:
    """``config.json`` of the run that ``path`` (run dir or its model file) belongs to, or {}."""
    p = Path(path)
    if not p.exists() and p.name == str(path):
        shipped = shipped_model(str(path))
        if shipped is not None:
            return dict(shipped[1].get("config", {}))
    cfg = (p if p.is_dir() else p.parent) / CONFIG_FILE
    if not cfg.is_file():
        return {}
    try:
        return json.loads(cfg.read_text())
    except (OSError, json.JSONDecodeError):
        return {}


@dataclass
class Run:
    """What a command was given as its model: a run directory, a ``.keras`` file or a shipped name.

    It owns the single rule for "the data of this run": ``Run.open(path).data(...)``. eval,
    explain, attack, ensemble, features and transfer all go through it.
    """

    source: str
    config: dict  # config.json ({} for a bare .keras file); a shipped model's is in the manifest

    @classmethod
    def open(cls, path) -> "Run":
        return cls(str(path), read_run_config(path))

    @property
    def model_file(self) -> Path:
        return resolve_model_file(self.source)

    @property
    def dataset(self) -> str | None:
        return self.config.get("dataset")

    @property
    def decisions(self) -> dict:
        """What the run decided by itself (precision, strategy, transfer mode ...), not what was asked."""
        return dict(self.config.get("decisions", {}))

    def data_options(self, dataset: str | None = None, data_dir=None) -> tuple[str, dict]:
        """(dataset, ``load_dataset`` keywords): the run's own data unless another ``dataset`` is asked.

        The run's dataset (else Fashion-MNIST); on that dataset also its ``data_dir`` (unless one is
        given), ``val_split`` and ``seed``, so ``--split val`` is the split the run held out, not
        images it trained on. On another dataset, only what was given.
        """
        spec = dataset or self.dataset or "fashion_mnist"
        own = bool(self.config) and spec == self.dataset
        options = {}
        if data_dir is not None:
            options["data_dir"] = str(data_dir)
        elif own and self.config.get("data_dir"):
            options["data_dir"] = self.config["data_dir"]
        if own and self.config.get("val_split") is not None:
            options["val_fraction"] = float(self.config["val_split"])
        if own and self.config.get("seed") is not None:
            options["seed"] = int(self.config["seed"])
        return spec, options

    def data(self, dataset: str | None = None, *, data_dir=None, limit=None, num_classes: int | None = None,
             seed: int | None = None, download: bool = False):
        """The ``Dataset`` to evaluate (explain, attack ...) this run on; ``num_classes`` is checked.

        ``seed`` carves the validation split when the run does not say (a bare ``.keras`` file).
        """
        from zoo.data import load_dataset

        spec, options = self.data_options(dataset, data_dir)
        if seed is not None:
            options.setdefault("seed", int(seed))
        data = load_dataset(spec, limit=limit, download=download, **options)
        if num_classes is not None and data.num_classes != int(num_classes):
            raise ModelFileError(
                f"{self.source} predicts {num_classes} classes but {spec} has {data.num_classes}; "
                "pass the --dataset the model was trained on.")
        return data

    def load_model(self):
        return load_model(self.source)

    def load_classifier(self):
        """(model, class names) of a classifier; see ``load_classifier``."""
        return load_classifier(self.source)

    def class_names(self, k: int, data=None) -> list[str]:
        """The run's class names, else the data's (a bare .keras file), else "0".."K-1"."""
        names = self.config.get("class_names")
        if names and len(names) == k:
            return list(names)
        if data is not None and len(data.class_names) == k:
            return list(data.class_names)
        return [str(i) for i in range(k)]


def load_model(path, *, as_trained: bool = False):
    """Load a Keras model (not compiled) from a run directory or ``.keras`` file.

    A model trained in mixed precision comes back computing in float32 (same weights; see
    zoo/precision.py), so exports, saliency maps, attacks and features are those of the model,
    not of bf16 rounding; ``as_trained=True`` keeps the precision it was saved with.
    """
    import keras

    import zoo.layers  # noqa: F401  (MatchInput/EnsembleVote, in ensembles and transfers)
    import zoo.models  # noqa: F401  (registers the zoo's custom layers before deserialising)

    f = resolve_model_file(path)
    try:
        model = keras.saving.load_model(f, compile=False)
    except Exception as exc:  # keras raises many types for a bad zip, bad config, ...
        reason = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        raise ModelFileError(
            f"Could not load {f}: {reason}. The file is corrupt or not a Keras 3 model; "
            "re-run `zoo train` or pass another file."
        ) from None
    if as_trained:
        return model
    from zoo.precision import float32_copy

    return float32_copy(model)


def load_pretrained(name: str, input_shape=None, num_classes=None):
    """The shipped trained model ``name`` as a plain (uncompiled) ``keras.Model``."""
    shipped = shipped_model(name)
    if shipped is None:
        raise UnknownNameError(
            f"No trained weights ship for {name!r}." + close_matches_hint(str(name), pretrained_names()) +
            " `zoo weights` lists them; create_model(name) without pretrained=True builds a fresh model.")
    f, entry = shipped
    cfg = entry.get("config", {})
    if input_shape is not None and tuple(input_shape) != tuple(cfg.get("input_shape") or ()):
        raise InvalidArgumentError(
            f"The shipped {name} takes {tuple(cfg.get('input_shape'))} inputs; got input_shape={tuple(input_shape)}. "
            f"For other inputs, fine-tune it: zoo train {name} --from {name} --input-shape H,W,C.")
    if num_classes is not None and num_classes != cfg.get("num_classes"):
        raise InvalidArgumentError(
            f"The shipped {name} predicts {cfg.get('num_classes')} classes; got num_classes={num_classes}. "
            f"For other classes, fine-tune it: zoo train {name} --from {name} --dataset YOURS.")
    return load_model(f)


def load_classifier(path):
    """(model, class_names) for a model with one (batch, classes) logits output.

    Class names come from the run's ``config.json`` when there is one, else "0".."K-1".
    """
    model = load_model(path)
    shape = tuple(model.outputs[0].shape) if len(model.outputs) == 1 else None
    if shape is None or len(shape) != 2 or not shape[1]:
        raise ModelFileError(
            f"{path} is not a classifier: expected one output of shape (batch, classes), "
            f"got {[tuple(o.shape) for o in model.outputs]}."
        )
    in_shape = tuple(model.inputs[0].shape) if len(model.inputs) == 1 else None
    if in_shape is None or len(in_shape) != 4:
        raise ModelFileError(
            f"{path} is not an image classifier: expected one input of shape (batch, H, W, C), "
            f"got {[tuple(i.shape) for i in model.inputs]}."
        )
    return model, Run.open(path).class_names(int(shape[1]))


# ---------------------------------------------------------------- reading a run's progress (no TensorFlow)


def read_history(path, before_epoch: int | None = None) -> list[dict]:
    """Rows of history.csv (floats; epoch as int), optionally only epochs < ``before_epoch``."""
    p = Path(path)
    if not p.is_file():
        return []
    rows = []
    with p.open() as f:
        for r in csv.DictReader(f):
            row = {}
            for k, v in r.items():
                if k == "epoch":
                    row[k] = int(float(v))
                else:
                    try:
                        row[k] = float(v)
                    except (TypeError, ValueError):
                        row[k] = v
            if before_epoch is None or row["epoch"] < before_epoch:
                rows.append(row)
    return rows



def backup_epoch(backup_dir) -> int:
    """Epochs completed according to a backup directory (0 when there is none)."""
    from zoo.training.backup import Backup

    return Backup(backup_dir).epoch()


# ---------------------------------------------------------------- `zoo runs`: the runs under a folder


@dataclass
class RunSummary:
    path: str
    model: str
    dataset: str
    epochs_done: int
    epochs_planned: int | None
    state: str  # finished | running | resumable | interrupted | failed
    best_val_accuracy: float | None
    test_accuracy: float | None
    seconds: float | None
    precision: str | None = None  # what the run trained in (config.json's decisions), e.g. mixed_bfloat16
    learned_nothing: str | None = None  # the trainer's note when the run ended at chance or its loss exploded

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def summarize_run(run_dir) -> RunSummary | None:
    """What ``zoo runs`` shows of one directory, or None if it is not a zoo training run."""
    run_dir = Path(run_dir)
    try:
        config = json.loads((run_dir / CONFIG_FILE).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(config, dict) or "model" not in config:
        return None
    history = read_history(run_dir / HISTORY_FILE)
    metrics = {}
    if (run_dir / METRICS_FILE).is_file():
        try:
            metrics = json.loads((run_dir / METRICS_FILE).read_text())
        except (OSError, ValueError):
            metrics = {}
    backed_up = backup_epoch(run_dir / BACKUP_DIR)
    if (run_dir / MODEL_FILE).is_file() and metrics:
        state = "finished"
    elif is_locked(run_dir):
        state = "running"  # a zoo train holds it now
    elif backed_up:
        state = "resumable"
    elif history:
        state = "interrupted"  # epochs ran, but no backup to continue from: --resume starts over
    else:
        state = "failed"
    vals = [r["val_accuracy"] for r in history if isinstance(r.get("val_accuracy"), float)]
    seconds = metrics.get("train_seconds")
    if seconds is None and history:
        seconds = sum(r.get("epoch_seconds", 0.0) for r in history if isinstance(r.get("epoch_seconds"), float))
    return RunSummary(str(run_dir), str(config.get("model")), str(config.get("dataset")),
                      backed_up if state == "resumable" else len(history), config.get("epochs"), state,
                      max(vals) if vals else None, metrics.get("accuracy"), seconds,
                      run_precision(config), metrics.get("learned_nothing"))


def run_precision(config: dict) -> str | None:
    """The precision a run trained in: what it decided (``--precision auto``), else what it was asked."""
    decided = (config.get("decisions") or {}).get("precision")
    asked = config.get("precision")
    return decided or (None if asked in (None, "auto") else asked)


def list_runs(root="runs") -> list[RunSummary]:
    """Every training run directory at or under ``root`` (not inside another run), sorted by path."""
    from zoo.errors import DataError

    root = Path(root)
    if not root.is_dir():
        raise DataError(f"No runs folder {root}: pass the folder that holds your run directories "
                        "(zoo train writes them under runs/ by default).")
    found = []
    stack = [root]
    while stack:
        d = stack.pop()
        s = summarize_run(d)
        if s is not None:
            found.append(s)
            continue  # a run's own subfolders (eval/, attack/, checkpoints/) are not runs
        try:
            stack.extend(sorted((p for p in d.iterdir() if p.is_dir() and not p.is_symlink()), reverse=True))
        except OSError:
            continue
    return sorted(found, key=lambda s: s.path)


def compare_runs(paths, out) -> list[str]:
    """Overlay the curves of the runs in ``paths`` in one PNG at ``out``; returns their labels."""
    from zoo.errors import DataError
    from zoo.io import check_output_file

    out = check_output_file(out, ".png", example="curves.png")
    runs = []
    for p in map(Path, paths):
        if summarize_run(p) is None:
            raise DataError(f"{p} is not a zoo run directory (no readable config.json); pass folders written by "
                            "`zoo train`.")
        history = read_history(p / HISTORY_FILE)
        if not history:
            raise DataError(f"{p} has no finished epoch yet (empty {HISTORY_FILE}); nothing to draw.")
        runs.append((p.name if sum(q.name == p.name for q in map(Path, paths)) == 1 else str(p), history))
    from zoo.plots.training import plot_compare_curves

    plot_compare_curves(runs, out, title=f"{len(runs)} runs")
    return [label for label, _ in runs]


# ---------------------------------------------------------------- one writer per run directory


def lock_path(directory) -> Path:
    """The lock of ``directory``: a sibling file, so --overwrite can delete the directory under it."""
    d = Path(directory).expanduser().resolve()
    return d.parent / f".{d.name}.zoo-lock"


def _read_owner(fd: int) -> dict:
    import os

    try:
        os.lseek(fd, 0, os.SEEK_SET)
        return json.loads(os.read(fd, 4096).decode() or "{}")
    except (OSError, ValueError):
        return {}


def is_locked(directory) -> bool:
    """True while some process holds ``directory``'s lock (a run being trained right now)."""
    import fcntl
    import os

    try:
        fd = os.open(lock_path(directory), os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(fd)


class RunLock:
    """``with RunLock(dir, "zoo train"):`` one process at a time writes ``dir``.

    An advisory ``flock`` on a sibling file: the kernel drops it when its process ends, however it
    ends (SIGKILL too), so a dead owner never blocks anyone and nobody guesses from pids. The file
    names its owner (pid, host, command, since) for the message a second process prints.
    """

    def __init__(self, directory, command: str):
        self.path = lock_path(directory)
        self.directory = Path(directory)
        self.command = command
        self.took_over: dict | None = None  # the previous owner, when it died holding the directory
        self._fd: int | None = None
        self._made_parent = False

    def __enter__(self):
        import fcntl
        import os
        import socket
        import time

        from zoo.errors import TrainingError

        if not self.path.parent.exists():
            try:
                self.path.parent.mkdir(parents=True)
                self._made_parent = True  # removed again if it stays empty
            except OSError:
                pass  # reported below, by the open that then fails
        for _ in range(5):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_RDWR, 0o644)
            except OSError as exc:  # a parent that is a file, a read-only or full disk
                raise TrainingError(f"Cannot write next to {self.directory}: {exc.strerror or exc} "
                                    f"({self.path.parent}). Pass an --out in a writable folder.") from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                owner = _read_owner(fd)
                os.close(fd)
                raise TrainingError(
                    f"{self.directory} is in use by {owner.get('command', 'another zoo process')} (pid "
                    f"{owner.get('pid', '?')}, since {owner.get('since', '?')}); wait for it to finish or stop it, "
                    f"or pass another --out. (Lock: {self.path})") from None
            try:  # the previous holder may have unlinked the file between our open and our lock
                same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
            except FileNotFoundError:
                same = False
            if not same:
                os.close(fd)
                continue
            previous = _read_owner(fd)
            self.took_over = previous or None  # a holder that exits cleanly removes the file
            me = {"pid": os.getpid(), "host": socket.gethostname(), "command": self.command,
                  "since": time.strftime("%Y-%m-%d %H:%M:%S")}
            try:
                os.ftruncate(fd, 0)
                os.lseek(fd, 0, os.SEEK_SET)
                os.write(fd, json.dumps(me).encode())
            except OSError:  # a full disk: leave no lock file behind
                os.unlink(self.path)
                os.close(fd)
                raise
            self._fd = fd
            return self
        raise TrainingError(f"Could not lock {self.directory}: {self.path} keeps changing; try again.")

    def __exit__(self, *exc):
        import os

        if self._fd is not None:
            try:
                os.unlink(self.path)  # while still holding it: a waiter re-checks the inode
            except OSError:
                pass
            os.close(self._fd)
            self._fd = None
        if self._made_parent:
            try:
                self.path.parent.rmdir()  # only if nothing was written into it
            except OSError:
                pass
        return False

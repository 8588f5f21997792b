"""The layout of a run directory: the name of every file in it, how each is read and written, its lock.

``zoo train --out DIR`` writes::

    DIR/
      config.json            the options and what the run decided; written first (a zoo run has one)
      history.csv            one row per finished epoch (zoo/training/callbacks.py: HistoryCSV)
      logs/                  TensorBoard events
      checkpoints/best.keras the best model on validation so far
      checkpoints/backup/    the resumable state, one unit per epoch (zoo/training/backup.py):
        000007/model.weights.h5, rng_state.npz, state.json (written last)
      model.keras  curves.png  confusion.png
      metrics.json           written last: its presence marks a finished run
    .DIR.zoo-lock            beside DIR while a process writes it (``RunLock``)

The commands that read a run write folders of their own, named here too: ``zoo eval --out``,
``zoo explain`` (``DIR/explain/`` by default), ``zoo attack`` (``DIR/attack/``) and ``zoo ensemble
--out`` (a folder laid out like a run: model.keras, config.json, then its report). Every file is
published whole (zoo/io.py). Nothing here imports TensorFlow: ``zoo runs`` lists runs with it.
tests/test_architecture.py fails on one of these names spelled anywhere else in zoo/ or cli/.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from zoo.io import atomic_path, write_json

# ------------------------------------------------------------------ a training run
CONFIG_FILE = "config.json"
HISTORY_FILE = "history.csv"
LOGS_DIR = "logs"
CHECKPOINTS_DIR = "checkpoints"
BEST_FILE = f"{CHECKPOINTS_DIR}/best.keras"
BACKUP_DIR = f"{CHECKPOINTS_DIR}/backup"
MODEL_FILE = "model.keras"
CURVES_FILE = "curves.png"
CONFUSION_FILE = "confusion.png"
METRICS_FILE = "metrics.json"
LOCK_NAME = ".{}.zoo-lock"  # beside the run directory, named after it

# one backup unit (what is in it, and why in this order: zoo/training/backup.py)
BACKUP_WEIGHTS_FILE = "model.weights.h5"
BACKUP_RNG_FILE = "rng_state.npz"
BACKUP_STATE_FILE = "state.json"
# written by zoo 0.2 (Keras BackupAndRestore's names) straight into checkpoints/backup/: still resumable
LEGACY_BACKUP_WEIGHTS_FILE = "latest.weights.h5"
LEGACY_BACKUP_STATE_FILE = "training_metadata.json"

# ------------------------------------------------------------------ the folders of the other commands
# (each tuple is what zoo.io.output_dir may replace in such a folder; "*" stands for a method's name)
COMPARE_FILE = "compare.json"
EVAL_OUTPUTS = (METRICS_FILE, CONFUSION_FILE, COMPARE_FILE)  # `zoo eval --out`

REPORT_FILE = "report.json"  # an ensemble's report, or an attack's
ENSEMBLE_FIGURE = "ensemble.png"
ENSEMBLE_OUTPUTS = (MODEL_FILE, CONFIG_FILE, REPORT_FILE, ENSEMBLE_FIGURE)  # `zoo ensemble --out DIR`
EVAL_ENSEMBLE_OUTPUTS = (REPORT_FILE, ENSEMBLE_FIGURE, *EVAL_OUTPUTS)  # `zoo eval` of several models

EXPLAIN_DIR = "explain"
EXPLAIN_FILE = "explain.json"
EXPLAIN_MAPS = "maps_{}.npy"  # per method
EXPLAIN_ATTRIBUTIONS = "attributions_{}.npy"  # per method that has signed attributions
EXPLAIN_FIGURE = "explain_{}.png"  # per method, and explain_all.png side by side
EXPLAIN_SANITY = "sanity.png"
EXPLAIN_FILTERS = "filters_{}.png"  # per layer (--filters)
EXPLAIN_OUTPUTS = (EXPLAIN_MAPS.format("*"), EXPLAIN_ATTRIBUTIONS.format("*"), EXPLAIN_FIGURE.format("*"),
                   EXPLAIN_FILE, EXPLAIN_SANITY, EXPLAIN_FILTERS.format("*"))

ATTACK_DIR = "attack"
ATTACK_CURVE = "accuracy_vs_eps.png"
ATTACK_EXAMPLES = "examples.png"
ATTACK_TRANSFER = "transfer_{}.png"  # per attack method
ADVERSARIAL_FILE = "adversarial.npz"
ATTACK_IMAGES_DIR = "images"  # PNGs per example (--png), named by zoo/attack/task.py
ATTACK_OUTPUTS = (ATTACK_CURVE, ATTACK_EXAMPLES, ATTACK_TRANSFER.format("*"), ADVERSARIAL_FILE, ATTACK_IMAGES_DIR,
                  REPORT_FILE)


def default_out_dir(model_path, folder: str) -> Path:
    """Where ``zoo explain``/``zoo attack`` write by default: ``DIR/<folder>/`` inside a run directory,
    ``<stem>_<folder>/`` beside a ``.keras`` file (or in the working folder, for a shipped name)."""
    p = Path(model_path)
    return p / folder if p.is_dir() else p.with_name(f"{p.stem}_{folder}")


def _read_object(path: Path) -> dict | None:
    """A JSON object from ``path``; None when it is missing, unreadable or not an object."""
    try:
        value = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


class RunDir:
    """The files of one run directory: ``RunDir(path).history_file``, ``.read_history()`` ...

    Only paths and small readers/writers; what is in a file is decided by the code that writes it
    (the trainer, the ensemble task). A folder laid out like a run (an ensemble's) works too.
    """

    def __init__(self, path):
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"RunDir({str(self.path)!r})"

    config_file = property(lambda self: self.path / CONFIG_FILE)
    history_file = property(lambda self: self.path / HISTORY_FILE)
    logs_dir = property(lambda self: self.path / LOGS_DIR)
    checkpoints_dir = property(lambda self: self.path / CHECKPOINTS_DIR)
    best_file = property(lambda self: self.path / BEST_FILE)
    backup_dir = property(lambda self: self.path / BACKUP_DIR)
    model_file = property(lambda self: self.path / MODEL_FILE)
    curves_file = property(lambda self: self.path / CURVES_FILE)
    confusion_file = property(lambda self: self.path / CONFUSION_FILE)
    metrics_file = property(lambda self: self.path / METRICS_FILE)

    # ------------------------------------------------------------------ reading

    def read_config(self) -> dict | None:
        """config.json, or None when there is none (or it is unreadable): then this is not a zoo run."""
        return _read_object(self.config_file)

    def read_metrics(self) -> dict | None:
        """metrics.json (the test metrics of a finished run), or None when there is none readable."""
        return _read_object(self.metrics_file)

    def read_history(self, before_epoch: int | None = None) -> list[dict]:
        """Rows of history.csv (floats; epoch as int), optionally only epochs < ``before_epoch``."""
        if not self.history_file.is_file():
            return []
        rows = []
        with self.history_file.open() as f:
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

    def is_finished(self) -> bool:
        """model.keras and metrics.json (written last) are both there."""
        return self.model_file.is_file() and self.metrics_file.is_file()

    # ------------------------------------------------------------------ writing (each file whole)

    def write_config(self, config: dict) -> None:
        write_json(self.config_file, config)

    def write_metrics(self, metrics: dict) -> None:
        write_json(self.metrics_file, metrics)

    def write_model(self, model) -> None:
        """``model.save`` into model.keras, published by a rename."""
        with atomic_path(self.model_file) as tmp:
            model.save(tmp)

    def remove_partial_files(self) -> None:
        """Delete the temporary files (``.NAME.xxxx.tmp...``) a killed process left next to the run's files."""
        for folder in (self.path, self.checkpoints_dir):
            if folder.is_dir():
                for f in folder.iterdir():
                    if f.is_file() and f.name.startswith(".") and ".tmp" in f.name:
                        f.unlink(missing_ok=True)


# ---------------------------------------------------------------- one writer per run directory


def lock_path(directory) -> Path:
    """The lock of ``directory``: a sibling file, so --overwrite can delete the directory under it."""
    d = Path(directory).expanduser().resolve()
    return d.parent / LOCK_NAME.format(d.name)


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

"""Keras callbacks of a zoo run: LR logging, atomic CSV history, per-epoch backups, NaN stop, progress.

Order matters (Keras calls them in list order and they share the ``logs`` dict):
LearningRateLogger first (adds ``learning_rate`` to the logs), then the ones that read the logs,
HistoryCSV before EpochBackup (so a kill between the two re-runs, never loses, an epoch: on resume
the history is cut back to the epoch the backup holds).
"""

from __future__ import annotations

import csv
import io
import math
import os
import time
from pathlib import Path

import keras
import numpy as np

from zoo.io import fault_point, write_text


def current_learning_rate(optimizer) -> float:
    """The LR the optimizer uses for its next step (schedules evaluated at ``iterations``)."""
    return float(keras.ops.convert_to_numpy(optimizer.learning_rate))


class LearningRateLogger(keras.callbacks.Callback):
    """Put the LR used during the epoch (its value at the epoch's first step) into the logs."""

    def on_epoch_begin(self, epoch, logs=None):
        self._lr = current_learning_rate(self.model.optimizer)

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = self._lr


class HistoryCSV(keras.callbacks.Callback):
    """history.csv rewritten atomically after every epoch; on resume, rows of later epochs are dropped."""

    def __init__(self, path, rows: list[dict] | None = None, extra: dict | None = None):
        super().__init__()
        self.path = Path(path)
        self.rows = list(rows or [])
        self.extra = extra or {}
        self._start = None

    def on_epoch_begin(self, epoch, logs=None):
        self._start = self._train_end = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        # called once per steps_per_execution steps: the last call ends the epoch's training part
        self._train_end = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        row = {"epoch": int(epoch)}
        for k, v in sorted((logs or {}).items()):
            row[k] = float(np.asarray(v)) if np.ndim(v) == 0 else v
        now = time.perf_counter()
        row["epoch_seconds"] = round(now - (self._start or now), 3)  # training + validation
        row["train_seconds"] = round((self._train_end or now) - (self._start or now), 3)
        self.rows = [r for r in self.rows if int(r["epoch"]) < epoch] + [row]
        write_history(self.path, self.rows)


class AtomicModelCheckpoint(keras.callbacks.ModelCheckpoint):
    """ModelCheckpoint that saves to a sibling temporary file, then renames it onto ``filepath``.

    A kill during the save leaves the previous best model intact instead of a corrupt file.
    """

    def __init__(self, filepath, **kwargs):
        self.final_path = Path(filepath)
        self.tmp_path = self.final_path.with_name(f".{self.final_path.stem}.tmp{self.final_path.suffix}")
        super().__init__(str(self.tmp_path), **kwargs)

    def on_epoch_end(self, epoch, logs=None):
        try:
            super().on_epoch_end(epoch, logs)
            if self.tmp_path.exists():
                fault_point(self.final_path.name)
                os.replace(self.tmp_path, self.final_path)
        except BaseException:  # a full disk half way through the save: no partial file stays behind
            self.tmp_path.unlink(missing_ok=True)
            raise


def write_history(path, rows: list[dict]) -> None:
    keys = ["epoch"]
    for r in rows:
        keys += [k for k in r if k not in keys]
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=keys, extrasaction="ignore")
    w.writeheader()
    for r in rows:
        w.writerow({k: r.get(k, "") for k in keys})
    write_text(path, buf.getvalue())


class NaNStop(keras.callbacks.TerminateOnNaN):
    """Stop at the first NaN/inf loss and remember where, so the trainer can say it clearly."""

    def __init__(self):
        super().__init__()
        self.where = None
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None:
            value = float(np.asarray(loss))
            if math.isnan(value) or math.isinf(value):
                self.where = (self._epoch, batch, value)
                self.model.stop_training = True

    def on_epoch_end(self, epoch, logs=None):
        # a NaN can also show up only in the epoch's mean (steps_per_execution hides batches)
        loss = (logs or {}).get("loss")
        if self.where is None and loss is not None and not math.isfinite(float(np.asarray(loss))):
            self.where = (epoch, None, float(np.asarray(loss)))
            self.model.stop_training = True


class EpochBackup(keras.callbacks.Callback):
    """After every epoch, the run's resumable state as one unit (see zoo/training/backup.py)."""

    def __init__(self, backup):
        super().__init__()
        self.backup = backup

    def on_train_batch_begin(self, batch, logs=None):
        if self.backup.torch_rng is not None:  # the first step of a resumed run on PyTorch
            self.backup.apply_torch_rng()

    def on_epoch_end(self, epoch, logs=None):
        self.backup.save(self.model, epoch + 1)


def _fmt(v) -> str:
    if v is None:
        return "-"
    v = float(v)
    if v != 0 and (abs(v) < 1e-3 or abs(v) >= 1e4):
        return f"{v:.2e}"
    return f"{v:.4f}"


def format_duration(seconds) -> str:
    """'01:02:03' under a day, '1d 02:03:04' past it (never wraps at 24 h); '-:--:--' when unknown."""
    if seconds is None or not (seconds == seconds) or seconds in (float("inf"), float("-inf")):
        return "-:--:--"
    total = max(0, int(round(seconds)))
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    clock = f"{hours:02d}:{minutes:02d}:{secs:02d}"
    return f"{days}d {clock}" if days else clock


class RichProgress(keras.callbacks.Callback):
    """A rich progress bar per epoch (loss, accuracy, LR, ETA) and one summary line per epoch.

    Batch updates arrive every ``steps_per_execution`` steps, so the bar costs no per-step Python.
    Without a terminal (pipes, CI) only the per-epoch lines are printed.
    """

    def __init__(self, console, epochs: int, steps_per_epoch: int, live: bool | None = None):
        super().__init__()
        self.console = console
        self.epochs = epochs
        self.steps = steps_per_epoch
        self.live = console.is_terminal if live is None else live
        self._progress = None
        self._task = None
        self._t0 = None

    def on_train_begin(self, logs=None):
        if self.live:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn, TextColumn
            from rich.text import Text

            class Remaining(ProgressColumn):  # this epoch's time left, in the same words as the epoch lines
                def render(self, task):
                    return Text(format_duration(task.time_remaining), style="progress.remaining")

            self._progress = Progress(
                TextColumn("[bold]epoch {task.fields[epoch]}"), BarColumn(), MofNCompleteColumn(),
                TextColumn("{task.fields[metrics]}"), TextColumn("ETA"), Remaining(),
                console=self.console, transient=True)
            self._progress.start()

    def on_epoch_begin(self, epoch, logs=None):
        self._t0 = time.perf_counter()
        self._epoch = epoch
        self._lr = current_learning_rate(self.model.optimizer)
        if self._progress is not None:
            if self._task is not None:
                self._progress.remove_task(self._task)
            self._task = self._progress.add_task("train", total=self.steps, epoch=f"{epoch + 1}/{self.epochs}",
                                                 metrics=f"lr {_fmt(self._lr)}")

    def on_train_batch_end(self, batch, logs=None):
        if self._progress is not None and logs:
            self._progress.update(self._task, completed=batch + 1, metrics=(
                f"loss {_fmt(logs.get('loss'))} acc {_fmt(logs.get('accuracy'))} lr {_fmt(self._lr)}"))

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        secs = time.perf_counter() - (self._t0 or time.perf_counter())
        left = (self.epochs - epoch - 1) * secs
        line = (f"epoch {epoch + 1:>3}/{self.epochs}  loss {_fmt(logs.get('loss'))}  "
                f"acc {_fmt(logs.get('accuracy'))}  val_loss {_fmt(logs.get('val_loss'))}  "
                f"val_acc {_fmt(logs.get('val_accuracy'))}  lr {_fmt(logs.get('learning_rate', self._lr))}  "
                f"{secs:.1f}s  ETA {format_duration(left)}")
        if self._progress is not None:
            self._progress.console.print(line, highlight=False, soft_wrap=True)
        else:
            self.console.print(line, highlight=False, soft_wrap=True)

    def on_train_end(self, logs=None):
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

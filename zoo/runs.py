"""`zoo runs`: the training runs under a folder, what state each is in, and their curves side by side.

Listing sits above training (it reads a run's backup through zoo/training/backup.py); the files it
reads are named in zoo/rundir.py. No TensorFlow is imported: listing a folder of runs is quick.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from zoo.rundir import CONFIG_FILE, CURVES_FILE, HISTORY_FILE, RunDir, is_locked
from zoo.training.backup import Backup


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
    files = RunDir(run_dir)
    config = files.read_config()
    if config is None or "model" not in config:
        return None
    history = files.read_history()
    metrics = files.read_metrics() or {}
    backed_up = Backup(files.backup_dir).epoch()  # 0 when there is none (or a damaged one)
    if files.model_file.is_file() and metrics:
        state = "finished"
    elif is_locked(files.path):
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
    return RunSummary(str(files.path), str(config.get("model")), str(config.get("dataset")),
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

    out = check_output_file(out, ".png", example=CURVES_FILE)
    runs = []
    for p in map(Path, paths):
        if summarize_run(p) is None:
            raise DataError(f"{p} is not a zoo run directory (no readable {CONFIG_FILE}); pass folders written by "
                            "`zoo train`.")
        history = RunDir(p).read_history()
        if not history:
            raise DataError(f"{p} has no finished epoch yet (empty {HISTORY_FILE}); nothing to draw.")
        runs.append((p.name if sum(q.name == p.name for q in map(Path, paths)) == 1 else str(p), history))
    from zoo.plots.training import plot_compare_curves

    plot_compare_curves(runs, out, title=f"{len(runs)} runs")
    return [label for label, _ in runs]

"""A run's resumable state, written as one unit: the only place that writes or reads a backup.

Layout (under ``checkpoints/backup/`` of a run)::

    000007/                numbered in the order written: the highest complete one is the latest
        model.weights.h5   weights and optimizer state (its step count drives the LR schedule)
        rng_state.npz      the dropout/augmentation seed-generator states (and torch's global generator)
        state.json         written last: {"epoch": 3, "final": false, "files": {name: sha256}}

A backup is written into a fresh hidden directory and renamed into place, so a kill at any
instant leaves either the previous backup or the new one, never a mix (the old one is deleted
only after the new one is in place). On resume the checksums are checked: a missing or damaged
file is a clear error, never a run silently restarted from random weights. ``final`` marks the
weights ``model.fit`` ended with (after early stopping restored the best): a run killed while
finishing (test evaluation, plots, model.keras) resumes by finishing, without training.

This module imports no TensorFlow at load time: ``zoo runs`` reads backups too.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from zoo.errors import TrainingError
from zoo.io import fault_point
from zoo.io import sha256_of
# the names live with the rest of the run directory's layout (zoo/rundir.py); what is in the files is this module's
from zoo.rundir import (BACKUP_RNG_FILE as RNG_FILE, BACKUP_STATE_FILE as STATE_FILE,
                        BACKUP_WEIGHTS_FILE as WEIGHTS_FILE, LEGACY_BACKUP_STATE_FILE as _LEGACY_META,
                        LEGACY_BACKUP_WEIGHTS_FILE as _LEGACY_WEIGHTS)

_UNIT_DIR = re.compile(r"^(\d{6})$")


class BackupError(TrainingError):
    """A backup that cannot be resumed from (missing or damaged files)."""


@dataclass(frozen=True)
class BackupState:
    epoch: int  # epochs completed
    final: bool  # the weights model.fit ended with: only the finishing steps remain
    path: Path
    info: dict = field(default_factory=dict)  # what the finishing steps need (e.g. stopped_early)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _rng_variables(model):
    # Dropout/augmentation seed-generator states: not in .weights.h5, yet needed for a resumed run
    # to draw the same random numbers as an uninterrupted one.
    return [v for v in model.variables if "seed_generator_state" in v.path]


# Keras on PyTorch draws unseeded dropout masks from torch's global generator (its fast path), so
# that generator's state is part of where a run stands too.
TORCH_RNG_KEY = "torch_global_rng"


def _torch_rng():
    """torch, when Keras runs on it (else None)."""
    from zoo.backend import name

    if name() != "torch":
        return None
    import torch

    return torch


class Backup:
    """The backup folder of one run: ``save`` after each epoch, ``latest``/``restore`` on resume."""

    def __init__(self, folder):
        self.folder = Path(folder)
        self.torch_rng = None  # torch's generator state from restore, until training begins

    # ------------------------------------------------------------------ reading

    def _units(self) -> list[tuple[int, Path]]:
        """(number, folder) of the backups in place, newest first."""
        if not self.folder.is_dir():
            return []
        found = [(int(m.group(1)), p) for p in self.folder.iterdir() if (m := _UNIT_DIR.match(p.name))]
        return sorted(found, reverse=True)

    def latest(self) -> BackupState | None:
        """The newest backup, or None when there is none; BackupError when it is damaged."""
        units = self._units()
        if units:
            path = units[0][1]
            try:
                state = json.loads((path / STATE_FILE).read_text())
                return BackupState(int(state["epoch"]), bool(state.get("final")), path, dict(state.get("info", {})))
            except (OSError, ValueError, KeyError, TypeError):
                raise BackupError(  # published whole by a rename, so only something else can have damaged it
                    f"Cannot resume: the backup {path} has no readable {STATE_FILE}. Delete {path} to resume from "
                    "an earlier backup if one is left, or pass --overwrite to start over.") from None
        legacy = self.folder / _LEGACY_META
        if legacy.is_file():
            try:
                state = BackupState(int(json.loads(legacy.read_text())["epoch"]), False, self.folder)
            except (OSError, ValueError, KeyError, TypeError):
                state = None
            if state is None or not (self.folder / _LEGACY_WEIGHTS).is_file():
                raise BackupError(f"Cannot resume: the backup in {self.folder} is incomplete ({_LEGACY_META} or "
                                  f"{_LEGACY_WEIGHTS} is missing or unreadable). Pass --overwrite to start over.")
            return state
        return None

    def epoch(self) -> int:
        """Epochs completed according to the backup (0 for none or a damaged one: for listings)."""
        try:
            state = self.latest()
        except BackupError:
            return 0
        return state.epoch if state else 0

    def _check(self, state: BackupState) -> None:
        """Every file listed in state.json is there with its checksum."""
        if state.path == self.folder:  # legacy layout: no checksums were written
            return
        files = json.loads((state.path / STATE_FILE).read_text()).get("files", {})
        for name, digest in files.items():
            f = state.path / name
            problem = ("is missing" if not f.is_file() else
                       "is damaged (its checksum differs from the one written with it)" if sha256_of(f) != digest else None)
            if problem:
                raise BackupError(
                    f"Cannot resume: the backup of epoch {state.epoch} in {state.path} {problem}: {name}. Delete "
                    f"{state.path} to resume from an earlier backup if one is left, or pass --overwrite to start over.")

    def restore(self, model) -> BackupState | None:
        """Load the newest backup into a compiled ``model`` (weights, optimizer, RNG); its state."""
        import numpy as np

        state = self.latest()
        if state is None:
            return None
        self._check(state)
        legacy = state.path == self.folder
        if model.optimizer is not None and not model.optimizer.built:
            model.optimizer.build(model.trainable_variables)  # built first, so its saved state loads too
        weights = state.path / (_LEGACY_WEIGHTS if legacy else WEIGHTS_FILE)
        try:
            model.load_weights(str(weights))
        except Exception as exc:
            raise BackupError(f"Cannot resume: {weights} does not load into this model ({exc}). Pass --overwrite "
                              "to start over.") from None
        rng_path = state.path / RNG_FILE
        if rng_path.is_file():
            with np.load(rng_path) as saved:
                for i, v in enumerate(_rng_variables(model)):
                    if f"v{i}" in saved:
                        v.assign(saved[f"v{i}"])
                if TORCH_RNG_KEY in saved:  # set when training begins: apply_torch_rng
                    self.torch_rng = saved[TORCH_RNG_KEY].copy()
        return state

    def apply_torch_rng(self) -> None:
        """Put torch's global generator where the restored backup left it. Called before the first
        step: Keras' fit draws from it before that (its symbolic build, the DataLoader it wraps the
        batches in), as the uninterrupted run did before its first epoch, not between epochs."""
        torch = _torch_rng()
        if torch is not None and self.torch_rng is not None:
            torch.set_rng_state(torch.from_numpy(self.torch_rng))
        self.torch_rng = None

    # ------------------------------------------------------------------ writing

    def save(self, model, epoch: int, *, final: bool = False, info: dict | None = None) -> Path:
        """Write the backup of ``epoch`` completed epochs as one unit; remove the older ones."""
        import numpy as np

        self.folder.mkdir(parents=True, exist_ok=True)
        self.clean_partial()
        units = self._units()
        target = self.folder / f"{(units[0][0] + 1) if units else 1:06d}"
        tmp = self.folder / f".{target.name}.{os.getpid()}.tmp"
        tmp.mkdir()
        try:
            model.save_weights(str(tmp / WEIGHTS_FILE), overwrite=True)
            rng = {f"v{i}": np.asarray(v.numpy()) for i, v in enumerate(_rng_variables(model))}
            torch = _torch_rng()
            if torch is not None:
                rng[TORCH_RNG_KEY] = torch.get_rng_state().numpy()
            with open(tmp / RNG_FILE, "wb") as f:
                np.savez(f, **rng)
            files = {name: sha256_of(tmp / name) for name in (WEIGHTS_FILE, RNG_FILE)}
            (tmp / STATE_FILE).write_text(json.dumps({"epoch": int(epoch), "final": bool(final),
                                                      "info": info or {}, "files": files}))
            for name in (WEIGHTS_FILE, RNG_FILE, STATE_FILE):
                with open(tmp / name, "rb") as f:
                    os.fsync(f.fileno())
            fault_point(f"backup epoch {epoch}{' (final)' if final else ''}")
            os.replace(tmp, target)  # the one step that publishes it: before, the previous backup holds
            _fsync_dir(self.folder)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        self._remove_older_than(target)
        return target

    def _remove_older_than(self, keep: Path) -> None:
        for _, path in self._units():
            if path != keep:
                shutil.rmtree(path, ignore_errors=True)
        for name in (_LEGACY_WEIGHTS, _LEGACY_META, RNG_FILE):
            (self.folder / name).unlink(missing_ok=True)
        self.clean_partial()

    def clean_partial(self) -> None:
        """Remove the hidden half-written backups a killed process left behind."""
        if self.folder.is_dir():
            for p in self.folder.iterdir():
                if p.name.startswith(".") and p.name.endswith(".tmp"):
                    shutil.rmtree(p, ignore_errors=True)

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)

"""Shipping a finished run as trained weights, and re-checking what ships.

``ship_run`` copies a run's model into ``weights/`` and records it in ``manifest.json`` (file,
sha256, size, test metrics, recipe and exact command, training time, machine, versions);
``verify_weights`` re-checks every file and, on request, its test accuracy (``zoo weights verify``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from zoo.errors import InvalidArgumentError, ModelFileError, UnknownNameError, close_matches_hint
from zoo.io import sha256_of
from zoo.pretrained import MANIFEST_FILE, shipped_model
from zoo.registry import load_weights_manifest
from zoo.run import load_pretrained

# What a manifest entry keeps of the run's config.json: enough to rebuild its data splits.
CONFIG_KEYS = ("model", "dataset", "input_shape", "class_names", "num_classes", "val_split", "seed", "split_seed",
               "recipe")


@dataclass
class WeightsCheck:
    """One row of ``zoo weights verify``."""

    name: str
    file: str
    ok: bool
    problem: str = ""
    recorded_accuracy: float | None = None
    measured_accuracy: float | None = None


# Inference is deterministic, but another oneDNN build may round a near-tie differently:
# allow 5 of the 10,000 test images to flip.
ACCURACY_TOLERANCE = 5e-4


def verify_weights(names=None, *, accuracy: bool = False, limit: int | None = None) -> list[WeightsCheck]:
    """Re-check each shipped file's sha256 and, with ``accuracy``, re-measure its test accuracy."""
    manifest = load_weights_manifest()
    names = list(manifest) if not names else list(names)
    rows = []
    for name in names:
        entry = manifest.get(name)
        if entry is None:
            raise UnknownNameError(f"No trained weights ship for {name!r}." +
                                   close_matches_hint(name, manifest))
        row = WeightsCheck(name, entry["file"], True, recorded_accuracy=entry["metrics"]["test_accuracy"])
        try:
            shipped_model(name)
        except ModelFileError as exc:
            row.ok, row.problem = False, str(exc)
        if row.ok and accuracy:
            row.measured_accuracy = _test_accuracy(name, entry, limit)
            if limit is None and abs(row.measured_accuracy - row.recorded_accuracy) > ACCURACY_TOLERANCE:
                row.ok = False
                row.problem = (f"test accuracy {row.measured_accuracy:.4f} differs from the manifest's "
                               f"{row.recorded_accuracy:.4f}")
        rows.append(row)
    return rows


def _test_accuracy(name: str, entry: dict, limit: int | None) -> float:
    """Accuracy of the shipped file itself (never a local folder of the same name) on its test set."""
    from zoo.data import make_pipeline
    from zoo.evaluation import logits_and_labels
    from zoo.run import Run

    model = load_pretrained(name)
    data = Run.open(name).data(entry["dataset"], limit=limit)
    shape = tuple(int(d) for d in model.inputs[0].shape[1:])
    logits, labels = logits_and_labels(model, make_pipeline(data.split("test"), input_shape=shape, batch_size=256,
                                                         training=False, augment="none", cache=False))
    return float(np.mean(np.argmax(logits, axis=1) == labels))


def machine() -> dict:
    """Cores and CPU model of this machine, for the manifest's training times."""
    import os
    import platform

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    from zoo.training.distributed import cpu_flags

    simd = [f for f in ("avx2", "avx512f", "avx512_bf16", "amx_bf16") if f in cpu_flags()]
    return {"cores": os.cpu_count(), "cpu": cpu, "simd": simd, "system": platform.system()}


# Fields of config.json that say where a run lives or what its data turned out to be, not how it trained.
_NOT_TRAINING = {"out", "recipe", "class_names", "num_classes"}


def check_run_matches_recipe(config: dict, recipe: str, overrides: dict | None = None) -> None:
    """A ZooError unless the run's training options are exactly what ``--recipe recipe`` resolves to,
    with ``overrides`` (options given on top of the recipe, such as ``{"seed": 1}``) applied."""
    from zoo.training.config import TrainConfig, recipe_config, resolve

    wanted = resolve(recipe_config(config["model"], recipe, **(overrides or {}))).to_dict()
    ran = TrainConfig.from_dict(config).to_dict()
    diff = sorted(k for k in wanted if k not in _NOT_TRAINING and wanted[k] != ran.get(k))
    if diff:
        shown = ", ".join(f"{k}: run {ran.get(k)!r} vs recipe {wanted[k]!r}" for k in diff)
        raise InvalidArgumentError(f"The run was not trained with --recipe {recipe}: {shown}.")


def override_flags(overrides: dict) -> list[str]:
    """The `zoo train` options that give ``overrides``: {"split_seed": 0} -> ["--split-seed 0"]."""
    return [f"--{key.replace('_', '-')} {value}" for key, value in overrides.items()]


def check_shipped_name(name: str, model: str) -> None:
    """A shipped name is the model's, or ``MODEL.TAG`` for another training of it (``resnet20.seed1``)."""
    if name != model and not re.fullmatch(re.escape(model) + r"\.[a-z0-9_]+", name):
        raise InvalidArgumentError(
            f"A run of {model} ships as {model!r} or as {model}.TAG (lower-case letters, digits, _), "
            f"e.g. {model}.seed1; got {name!r}.", param="name")


def ship_run(run_dir, *, command: str, weights_dir, recipe: str | None = None, note: str | None = None,
             name: str | None = None, overrides: dict | None = None) -> dict:
    """Copy a finished run's model into ``weights_dir`` (no optimizer state) and record it.

    With ``recipe``, the run's options must equal the recipe's with ``overrides`` on top (so the
    recorded command ``zoo train MODEL --recipe RECIPE --seed 1 ...`` really reproduces it; each
    override must be in ``command``). ``name`` ships it as ``MODEL.TAG`` (another training of a model
    that ships; default: the model's name). The manifest entry is written last, after the file is
    in place, so a half-shipped model is never listed. Returns the entry.
    """
    import keras
    import tensorflow as tf

    from zoo.io import atomic_path, write_json
    from zoo.training.config import TrainConfig
    from zoo.run import load_model
    from zoo.rundir import METRICS_FILE, RunDir
    from zoo.version import __version__

    run_dir, weights_dir = Path(run_dir), Path(weights_dir)
    config = RunDir(run_dir).read_config() or {}
    metrics = RunDir(run_dir).read_metrics()
    if metrics is None:
        raise ModelFileError(f"{run_dir} has no readable {METRICS_FILE}: only a finished run can be shipped.")
    if metrics.get("split") != "test" or metrics.get("samples") != config.get("dataset_sizes", {}).get("test"):
        raise ModelFileError(f"{run_dir}'s metrics are not on its whole test split; ship a run without --limit.")
    recipe = recipe or config.get("recipe")
    overrides = dict(overrides or {})
    if overrides and not recipe:
        raise InvalidArgumentError("overrides are options given on top of a recipe; name the --recipe.")
    if recipe:
        check_run_matches_recipe(config, recipe, overrides)
        config = {**config, "recipe": recipe}
    missing = [flag for flag in override_flags(overrides) if flag not in command]
    if missing:
        raise InvalidArgumentError(f"The command {command!r} does not say {', '.join(missing)}: record the command "
                                   "that trained the run.")
    name, dataset = name or config["model"], config["dataset"]
    check_shipped_name(name, config["model"])
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", dataset).strip("_") or "data"  # folder:/x/y is no file name
    target = weights_dir / f"{name}-{slug}.keras"
    with atomic_path(target) as tmp:
        load_model(run_dir).save(tmp)  # loaded uncompiled: no optimizer state is written
    entry = {
        "file": target.name,
        "sha256": sha256_of(target),
        "size_bytes": target.stat().st_size,
        "dataset": dataset,
        "recipe": recipe,
        **({"overrides": overrides} if overrides else {}),
        "metrics": {"test_accuracy": metrics["accuracy"], "test_top5": metrics.get("top5"),
                    "test_samples": metrics["samples"], "per_class": metrics.get("per_class"),
                    "final_val_accuracy": metrics.get("final_val_accuracy")},
        "epochs": metrics.get("epochs_trained"),
        "train_seconds": metrics.get("train_seconds"),
        "machine": machine(),
        **({"note": note} if note else {}),
        "command": command,
        "versions": {"zoo": __version__, "keras": keras.__version__, "tensorflow": tf.__version__},
        "config": {k: config[k] for k in CONFIG_KEYS if k in config},
        # every training option, resolved: what `--recipe` must reproduce (checked by the tests)
        "train_options": {k: v for k, v in TrainConfig.from_dict(config).to_dict().items() if k not in _NOT_TRAINING},
    }
    manifest_path = weights_dir / MANIFEST_FILE
    manifest = json.loads(manifest_path.read_text()) if manifest_path.is_file() else {}
    manifest.setdefault("models", {})[name] = entry
    manifest["models"] = dict(sorted(manifest["models"].items()))
    write_json(manifest_path, manifest)
    return entry

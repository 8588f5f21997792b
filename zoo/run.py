"""Run directories and model files: what eval, explain, attack and ensemble accept.

A run directory holds ``config.json``, ``model.keras``, ``history.csv``, ``metrics.json`` ...
Every command that takes a model accepts a run directory, a ``.keras`` file, or the name of a model
whose trained weights ship with the package (``weights/manifest.json``, e.g. ``simplenet``).
"""

from __future__ import annotations

import json
from pathlib import Path

from zoo.errors import ModelFileError
from zoo.pretrained import shipped_model

MODEL_FILE = "model.keras"
CONFIG_FILE = "config.json"


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


def dataset_args_for(path, dataset: str | None = None) -> dict:
    """``load_dataset`` keywords (``val_fraction``, ``seed``) that re-create a run's own splits.

    Read from the run's ``config.json`` (``val_split``, ``seed``), so ``--split val`` is the
    validation split the run held out, not images it trained on. {} for a bare ``.keras`` file,
    or when ``dataset`` is given and is not the run's dataset (its split would mean nothing).
    """
    cfg = read_run_config(path)
    if not cfg or (dataset is not None and dataset != cfg.get("dataset")):
        return {}
    args = {}
    if cfg.get("val_split") is not None:
        args["val_fraction"] = float(cfg["val_split"])
    if cfg.get("seed") is not None:
        args["seed"] = int(cfg["seed"])
    return args


def load_model(path):
    """Load a Keras model (not compiled) from a run directory or ``.keras`` file."""
    import keras

    import zoo.ensemble  # noqa: F401  (its MatchInput/EnsembleVote layers, in ensembles and transfers)
    import zoo.models  # noqa: F401  (registers the zoo's custom layers before deserialising)

    f = resolve_model_file(path)
    try:
        return keras.saving.load_model(f, compile=False)
    except Exception as exc:  # keras raises many types for a bad zip, bad config, ...
        reason = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        raise ModelFileError(
            f"Could not load {f}: {reason}. The file is corrupt or not a Keras 3 model; "
            "re-run `zoo train` or pass another file."
        ) from None


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
    names = read_run_config(path).get("class_names")
    k = int(shape[1])
    if not names or len(names) != k:
        names = [str(i) for i in range(k)]
    return model, list(names)

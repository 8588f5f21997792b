"""Shipped weights: which trained models ship, and their files checked against the manifest.

``weights/`` (installed as ``zoo.weights``) holds one ``.keras`` file per trained model and
``manifest.json``, whose entry per model records the file, its sha256 and size, the test metrics,
the recipe and exact command that trained it, the training time and machine, and the versions.
Every load checks the sha256, so a damaged or edited file fails with its name instead of
silently giving other predictions.

A shipped name is a registry model's (``resnet20``) or, for another training of the same model, the
model's name and a tag (``resnet20.seed1``, timm's ``model.tag`` convention): an ensemble member
with another seed, say. Either goes wherever a run directory goes.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from zoo.errors import ModelFileError
from zoo.io import sha256_of
from zoo.registry import load_weights_manifest

MANIFEST_FILE = "manifest.json"


def architecture_of(name: str) -> str:
    """The registry model that the shipped ``name`` holds weights of: ``resnet20`` for ``resnet20.seed1``."""
    return str(name).split(".", 1)[0]


def weights_path(entry: dict) -> Path:
    return Path(str(resources.files("zoo.weights").joinpath(entry["file"])))


def shipped_model(name: str):
    """(file, manifest entry) of the trained model shipped as ``name``, or None if none ships.

    The file's sha256 is checked against the manifest, so a damaged install fails clearly.
    """
    entry = load_weights_manifest().get(str(name))
    if entry is None:
        return None
    f = weights_path(entry)
    if not f.is_file():
        raise ModelFileError(
            f"The shipped weights of {name} are missing: {f} is not there. Reinstall zoo "
            f"(pip install --force-reinstall), or train your own with `zoo train {name} --recipe "
            f"{entry.get('recipe') or 'fashion_mnist'}`.")
    digest = sha256_of(f)
    if digest != entry["sha256"]:
        raise ModelFileError(
            f"The shipped weights of {name} are damaged: {f} has sha256 {digest[:12]}..., the manifest "
            f"says {entry['sha256'][:12]}.... Reinstall zoo (pip install --force-reinstall).")
    return f, entry


def pretrained_names() -> list[str]:
    return sorted(load_weights_manifest())

"""The trained simplenet shipped in weights/: found by name, checked by sha256, as good as claimed."""

import json

import pytest
from typer.testing import CliRunner

from zoo.cli.main import app
from zoo.errors import ModelFileError
from zoo.registry import get_spec, load_weights_manifest
from zoo.run import load_classifier, read_run_config, resolve_model_file


def test_manifest_entries_resolve_by_name():
    manifest = load_weights_manifest()
    assert "simplenet" in manifest and get_spec("simplenet").weights_shipped
    for name, entry in manifest.items():
        assert resolve_model_file(name).name == entry["file"]
        assert read_run_config(name)["class_names"] == entry["config"]["class_names"]


def test_shipped_simplenet_reproduces_its_recorded_test_accuracy(tmp_path):
    entry = load_weights_manifest()["simplenet"]
    result = CliRunner().invoke(app, ["eval", "simplenet", "--out", str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["samples"] == 10_000
    assert metrics["accuracy"] == pytest.approx(entry["metrics"]["test_accuracy"], abs=5e-4)
    model, names = load_classifier("simplenet")
    assert names[0] == "T-shirt/top" and tuple(model.inputs[0].shape) == (None, 28, 28, 1)


def test_a_damaged_shipped_file_is_a_clear_error(monkeypatch):
    import zoo.registry

    manifest = {"simplenet": dict(load_weights_manifest()["simplenet"], sha256="0" * 64)}
    monkeypatch.setattr(zoo.registry, "load_weights_manifest", lambda: manifest)
    with pytest.raises(ModelFileError, match="sha256"):
        resolve_model_file("simplenet")


def test_a_local_path_wins_over_a_shipped_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "simplenet").mkdir()
    with pytest.raises(ModelFileError, match="directory without model.keras"):
        resolve_model_file("simplenet")

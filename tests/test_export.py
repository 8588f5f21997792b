"""`zoo export`: each format reloads in its own runtime and computes the Keras model's logits."""

import json

import numpy as np
import pytest
from kit import invoke, pixels

from zoo.export import FORMATS, RUNNERS


@pytest.fixture(scope="module")
def resnet_file(tmp_path_factory):
    import zoo

    path = tmp_path_factory.mktemp("models") / "resnet20.keras"
    zoo.create_model("resnet20", input_shape=(28, 28, 1), num_classes=10).save(path)
    return path


def _out(tmp_path, fmt):
    return tmp_path / ("export" + FORMATS[fmt])


@pytest.mark.parametrize("fmt", list(FORMATS))
@pytest.mark.parametrize("which", ["shipped", "file"])
def test_every_format_reloads_to_the_same_logits(fmt, which, tmp_path, resnet_file):
    from zoo.run import load_classifier

    source = "simplenet" if which == "shipped" else str(resnet_file)  # a shipped name, a fresh resnet20 file
    out = _out(tmp_path, fmt)
    result = invoke("export", source, "--format", fmt, "--out", str(out), "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["max_abs_diff"] <= 1e-4 and report["images_checked"] == 8
    assert out.exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging left
    # independent check on other images than the exporter's
    model, _ = load_classifier(source)
    x = pixels(3, (28, 28, 1), seed=7)
    np.testing.assert_allclose(RUNNERS[fmt](out, x), model.predict(x, verbose=0), atol=1e-4)


def test_export_refuses_bad_requests_and_leaves_nothing(tmp_path):
    def run(*args):
        result = invoke("export", "simplenet", *map(str, args))
        assert result.exit_code != 0 and "Traceback" not in result.output
        return result.output

    assert "Did you mean: onnx" in run("--format", "onxx", "--out", tmp_path / "m.onnx")
    assert "must end in .tflite" in run("--format", "tflite", "--out", tmp_path / "m.onnx")
    (tmp_path / "m.onnx").write_text("old")
    assert "already exists" in run("--format", "onnx", "--out", tmp_path / "m.onnx")
    assert (tmp_path / "m.onnx").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.onnx"]
    (tmp_path / "work").mkdir()
    (tmp_path / "work" / "notes.txt").write_text("keep me")
    assert "not a SavedModel" in run("--format", "savedmodel", "--out", tmp_path / "work", "--overwrite")
    assert (tmp_path / "work" / "notes.txt").read_text() == "keep me"

"""`zoo train --from RUN --transfer ...`: the trainer runs prepare_transfer's setup end to end."""

from __future__ import annotations

import numpy as np
import pytest
from kit import fake_run, invoke, write_npz


@pytest.fixture
def source_and_data(tmp_path):
    """A tiny npz dataset (3 classes, 28x28x1) and a source 'run' (simplenet, 5 classes)."""
    from zoo.registry import create_model

    data = write_npz(tmp_path / "new.npz", 48, (28, 28, 1), 3, test=16, class_names=["p", "q", "r"])
    run = fake_run(tmp_path, create_model("simplenet", (28, 28, 1), 5), name="source", class_names=list("abcde"))
    return run, data


def _train(args):
    return invoke("train", "simplenet", *args)


def test_train_with_svm_head_writes_a_run_with_the_new_classes(source_and_data, tmp_path):
    run, data = source_and_data
    out = tmp_path / "svm_run"
    result = _train(["--from", str(run), "--transfer", "svm", "--dataset", f"npz:{data}", "--epochs", "1",
                     "--batch-size", "16", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "linear SVM head" in result.output
    from zoo.run import load_classifier

    model, names = load_classifier(out)
    assert names == ["p", "q", "r"] and model.output.shape[-1] == 3
    src = load_classifier(run)[0]
    np.testing.assert_array_equal(model.get_layer("conv1").get_weights()[0], src.get_layer("conv1").get_weights()[0])


def test_train_unfreeze_larger_than_model_is_a_clear_error(source_and_data, tmp_path):
    run, data = source_and_data
    result = _train(["--from", str(run), "--transfer", "finetune", "--unfreeze", "40", "--dataset", f"npz:{data}",
                     "--epochs", "1", "--out", str(tmp_path / "ft")])
    assert result.exit_code != 0
    assert "--unfreeze 40 is larger than the model" in result.output and "conv1, conv2, fc1" in result.output
    result = _train(["--from", str(tmp_path / "no_such_run"), "--dataset", f"npz:{data}", "--epochs", "1",
                     "--out", str(tmp_path / "ft2")])
    assert result.exit_code != 0 and "No such run directory or model file" in result.output
    result = invoke("train", "lenet5", "--from", run, "--dataset", f"npz:{data}", "--epochs", "1",
                    "--out", tmp_path / "ft3")
    assert result.exit_code != 0 and "holds a simplenet, not a lenet5" in result.output

"""`zoo train` / `zoo eval` end to end on a tiny run, and every bad input's exit code and message.

The tiny run: simplenet at 16x16 (its smallest input) on 256 Fashion-MNIST images per split.
"""

import csv
import json
import math

import numpy as np
import pytest
from kit import invoke as zoo, linear_classifier, tiny_classifier

TINY = ["--input-shape", "16,16,1", "--limit", "256", "--batch-size", "64", "--quiet"]


def invoke(*args):
    result = zoo(*args)
    return result, result.output + (result.stderr if result.stderr_bytes is not None else "")


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "tiny"
    result, text = invoke("train", "simplenet", *TINY, "--epochs", "2", "--schedule", "step", "--step-size", "1",
                          "--gamma", "0.5", "--lr", "0.002", "--out", out, "--json")
    assert result.exit_code == 0, text
    return out, json.loads(result.stdout.strip().splitlines()[-1])


def test_run_directory_is_complete(tiny_run):
    out, summary = tiny_run
    for name in ("config.json", "model.keras", "history.csv", "curves.png", "metrics.json", "confusion.png"):
        assert (out / name).is_file(), name
    assert (out / "checkpoints" / "best.keras").is_file()
    assert any((out / "logs").rglob("events.out.tfevents*"))
    assert not (out / "checkpoints" / "backup").exists()  # the resume backup goes once the run is done
    assert not list(out.glob(".*tmp*"))  # no temporary files left
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["model"] == "simplenet" and cfg["dataset"] == "fashion_mnist"
    assert cfg["input_shape"] == [16, 16, 1] and cfg["optimizer"] == "adam" and cfg["batch_size"] == 64
    assert cfg["class_names"][0] == "T-shirt/top" and len(cfg["class_names"]) == 10
    assert summary["run_dir"] == str(out) and summary["epochs"] == 2


def test_history_has_metrics_and_exact_step_lr(tiny_run):
    out, _ = tiny_run
    rows = list(csv.DictReader((out / "history.csv").open()))
    assert [int(r["epoch"]) for r in rows] == [0, 1]
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        assert all(math.isfinite(float(r[key])) for r in rows), key
    assert [float(r["learning_rate"]) for r in rows] == pytest.approx([0.002, 0.001], rel=1e-6)


def test_metrics_match_zoo_eval_and_the_saved_model_loads(tiny_run, tmp_path):
    from zoo.run import load_classifier

    out, summary = tiny_run
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["samples"] == 256 and 0 <= metrics["accuracy"] <= 1
    assert metrics["top5"] >= metrics["accuracy"]
    assert set(metrics["per_class"]) == set(json.loads((out / "config.json").read_text())["class_names"])
    assert np.asarray(metrics["confusion_matrix"]).sum() == 256
    assert summary["test_accuracy"] == metrics["accuracy"]
    model, names = load_classifier(out)
    assert model.inputs[0].shape[1:] == (16, 16, 1) and names[-1] == "Ankle boot"

    result, text = invoke("eval", out, "--limit", "256", "--json", "--out", tmp_path / "ev")
    assert result.exit_code == 0, text
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["accuracy"] == pytest.approx(metrics["accuracy"])
    assert (tmp_path / "ev" / "confusion.png").is_file() and (tmp_path / "ev" / "metrics.json").is_file()


def test_eval_works_on_a_plain_keras_classifier(tmp_path):
    model = tiny_classifier((20, 20, 3), 10, convs=(), pool=True)  # rescale, pool, logits: no zoo metadata
    path = tmp_path / "plain.keras"
    model.save(path)
    result, text = invoke("eval", path, "--limit", "64", "--json")
    assert result.exit_code == 0, text
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["samples"] == 64 and report["class_names"][0] == "T-shirt/top"
    assert "20x20x3" in report["note"]


def test_existing_output_directory_is_refused_then_resume_skips(tiny_run):
    out, _ = tiny_run
    before = (out / "model.keras").stat().st_mtime_ns
    result, text = invoke("train", "simplenet", *TINY, "--epochs", "2", "--out", out)
    assert result.exit_code != 0
    assert "already exists" in text and "--resume" in text and "--overwrite" in text
    result, text = invoke("train", "simplenet", *TINY, "--out", out, "--resume", "--json")
    assert result.exit_code == 0, text
    assert json.loads(result.stdout.strip().splitlines()[-1])["skipped"] is True
    assert (out / "model.keras").stat().st_mtime_ns == before


@pytest.mark.parametrize("args, message", [
    (["--optimizer", "adamm"], "Did you mean: adam"),
    (["--schedule", "cosin"], "Did you mean: cosine"),
    (["--lr", "0"], "--lr must be a positive number (the learning rate)"),
    (["--lr", "-0.1"], "must be a positive number"),
    (["--epochs", "0"], "--epochs must be a positive integer"),
    (["--batch-size", "0"], "--batch-size must be a positive integer"),
    (["--resume", "--overwrite"], "contradict"),
    (["--input-shape", "16,16,3"], "1 channel(s)"),
    (["--input-shape", "8,8,1"], "at least 16x16"),
    (["--device", "gpu"], "sees no GPU"),
    (["--device", "tpu"], "--device must be cpu, gpu or gpu:N"),
    (["--precision", "fp64"], "Unknown precision"),
    (["--strategy", "mirror"], "Did you mean: mirrored"),
    (["--jit", "maybe"], "Unknown jit mode"),
])
def test_bad_options_fail_clearly_and_leave_nothing(tmp_path, args, message):
    out = tmp_path / "never"
    base = ["--limit", "64", "--quiet"] if "--input-shape" in args else TINY
    result, text = invoke("train", "simplenet", *base, *args, "--out", out)
    assert result.exit_code == 2, text
    assert message in " ".join(text.split()), text
    assert "Traceback" not in text and len(text.strip().splitlines()) <= 3
    assert not out.exists()


def test_unknown_model_lists_close_matches(tmp_path):
    result, text = invoke("train", "simplenett", "--out", tmp_path / "x")
    assert result.exit_code == 2 and "Did you mean: simplenet" in text


def test_diverging_run_stops_with_a_clear_message(tmp_path):
    out = tmp_path / "nan"
    result, text = invoke("train", "simplenet", *TINY, "--epochs", "2", "--optimizer", "sgd", "--lr", "1e30",
                          "--out", out)
    assert result.exit_code == 2, text
    assert "diverged" in text and "Lower --lr" in text
    assert not out.exists()


@pytest.mark.parametrize("setup, message", [
    (lambda p: None, "No such run directory or model file"),
    (lambda p: p.mkdir(), "without model.keras"),
    (lambda p: (p.mkdir(), (p / "model.keras").write_bytes(b"not a zip")), "Could not load"),
])
def test_eval_missing_or_corrupt_model(tmp_path, setup, message):
    path = tmp_path / "run"
    setup(path)
    result, text = invoke("eval", path, "--out", tmp_path / "ev")
    assert result.exit_code == 2, text
    assert message in text and "Traceback" not in text
    assert not (tmp_path / "ev").exists()


def test_eval_refuses_a_model_for_another_number_of_classes(tmp_path):
    linear_classifier((28, 28, 1), 3).save(tmp_path / "three.keras")
    result, text = invoke("eval", tmp_path / "three.keras", "--limit", "16")
    assert result.exit_code == 2 and "predicts 3 classes" in text


def test_deterministic_runs_give_identical_weights(tmp_path):
    from zoo.run import load_model

    weights = []
    for name in ("a", "b"):
        result, text = invoke("train", "simplenet", *TINY, "--epochs", "1", "--seed", "3", "--deterministic",
                              "--out", tmp_path / name)
        assert result.exit_code == 0, text
        weights.append(load_model(tmp_path / name).get_weights())
    for wa, wb in zip(*weights):
        np.testing.assert_array_equal(wa, wb)


def test_adversarial_training_trains_on_batches_that_raise_the_loss(tmp_path):
    # With a learning rate too small to move the weights, the logged training loss is the loss of
    # the batches the model was fed: the crafted ones must be harder than the clean ones.
    frozen = ["--lr", "1e-12", "--optimizer", "sgd", "--seed", "3"]
    runs = {}
    for name, extra in (("clean", []), ("adv", ["--adversarial", "fgsm", "--adv-eps", "16", "--adv-ratio", "1"])):
        out = tmp_path / name
        result, text = invoke("train", "simplenet", *TINY, "--epochs", "1", *frozen, *extra, "--out", out)
        assert result.exit_code == 0, text
        runs[name] = float(next(csv.DictReader((out / "history.csv").open()))["loss"])
    assert runs["adv"] > runs["clean"] + 0.01, runs
    cfg = json.loads((tmp_path / "adv" / "config.json").read_text())
    assert (cfg["adversarial"], cfg["adv_eps"], cfg["adv_ratio"]) == ("fgsm", 16.0, 1.0)


def test_transfer_from_a_run_uses_the_transfer_setup(tiny_run, tmp_path):
    src, _ = tiny_run
    out = tmp_path / "tr"
    result, text = invoke("train", "simplenet", *TINY, "--epochs", "1", "--from", src, "--transfer",
                          "feature-extract", "--out", out)
    assert result.exit_code == 0, text
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["transfer_from"] == str(src) and cfg["transfer"] == "feature-extract"
    assert (out / "model.keras").is_file()
    result, text = invoke("train", "simplenet", *TINY, "--transfer", "svm", "--out", tmp_path / "no")
    assert result.exit_code == 2 and "--from" in text


def test_resume_with_more_epochs_extends_a_finished_run(tmp_path):
    out = tmp_path / "ext"
    common = [*TINY[:-1], "--schedule", "step", "--step-size", "1", "--gamma", "0.5", "--out", out]
    result, text = invoke("train", "simplenet", *common, "--epochs", "1")
    assert result.exit_code == 0, text
    assert "Resizing 28x28 images to 16x16" in text  # the data did not fit the model: said once
    assert "epoch   1/1" in text and "test accuracy" in text  # progress line and summary table
    result, text = invoke("train", "simplenet", "--epochs", "2", "--out", out, "--resume", "--quiet")
    assert result.exit_code == 0, text
    rows = list(csv.DictReader((out / "history.csv").open()))
    assert [int(r["epoch"]) for r in rows] == [0, 1]
    assert [float(r["learning_rate"]) for r in rows] == pytest.approx([0.001, 0.0005], rel=1e-6)
    assert json.loads((out / "config.json").read_text())["epochs"] == 2
    assert json.loads((out / "metrics.json").read_text())["epochs_trained"] == 2


def test_label_smoothing_loss_exact_value():
    from zoo.training.losses import SparseSmoothedCrossentropy

    logits = np.array([[2.0, 0.0], [0.0, 1.0]], dtype="float32")
    labels = np.array([0, 1])
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    target = np.array([[0.9, 0.1], [0.1, 0.9]])  # smoothing 0.2 over 2 classes
    expected = float(np.mean(-(target * np.log(p)).sum(axis=1)))
    loss = SparseSmoothedCrossentropy(0.2, 2)
    assert float(loss(labels, logits)) == pytest.approx(expected, rel=1e-5)


def test_early_stopping_ends_the_run_when_val_loss_stalls(tmp_path):
    out = tmp_path / "es"
    # an SGD step of 1e-30 leaves float32 weights unchanged, so val_loss never improves
    result, text = invoke("train", "simplenet", *TINY, "--epochs", "6", "--optimizer", "sgd", "--lr", "1e-30",
                          "--early-stopping", "1", "--out", out, "--json")
    assert result.exit_code == 0, text
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["stopped_early"] is True and summary["epochs"] == 2
    assert len(list(csv.DictReader((out / "history.csv").open()))) == 2


def test_eval_of_several_models_delegates_to_the_ensemble(tiny_run):
    out, _ = tiny_run
    result, text = invoke("eval", out, out, "--ensemble", "soft", "--limit", "32", "--json")
    assert result.exit_code == 0, text
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["num_members"] == 2 and report["method"] == "soft"


def test_a_run_puts_back_the_global_precision_and_determinism(tmp_path):
    import keras
    from tensorflow.python.framework import config as tf_config

    before = keras.mixed_precision.global_policy().name
    was_deterministic = tf_config.is_op_determinism_enabled()
    result, text = invoke("train", "simplenet", *TINY, "--limit", "64", "--epochs", "1", "--precision",
                          "mixed_bfloat16", "--deterministic", "--out", tmp_path / "bf16")
    assert result.exit_code == 0, text
    assert keras.mixed_precision.global_policy().name == before
    assert tf_config.is_op_determinism_enabled() == was_deterministic
    from zoo.run import load_model

    assert load_model(tmp_path / "bf16", as_trained=True).get_layer("conv1").compute_dtype == "bfloat16"


def test_plateau_schedule_cuts_the_lr_when_val_loss_stalls(tmp_path):
    out = tmp_path / "plateau"
    # an SGD step of 1e-20 leaves the weights unchanged: val_loss stalls from the first epoch on
    result, text = invoke("train", "simplenet", *TINY, "--limit", "128", "--epochs", "4", "--optimizer", "sgd",
                          "--lr", "1e-20", "--schedule", "plateau", "--plateau-patience", "1", "--gamma", "0.5",
                          "--out", out)
    assert result.exit_code == 0, text
    rows = list(csv.DictReader((out / "history.csv").open()))
    assert [float(r["learning_rate"]) for r in rows] == pytest.approx([1e-20, 1e-20, 5e-21, 2.5e-21], rel=1e-6)


def test_split_seed_keeps_the_validation_images_while_the_weights_seed_changes(tmp_path):
    from zoo.run import Run

    def val_labels(out):
        return np.concatenate([y for _, y in Run.open(out).data().split("val").batch(6000).as_numpy_iterator()])

    runs = {}
    for name, seeds in [("s0", ["--seed", "0"]), ("s1", ["--seed", "1"]), ("s1split0", ["--seed", "1", "--split-seed", "0"])]:
        result, text = invoke("train", "lenet5", "--input-shape", "28,28,1", "--limit", "128", "--batch-size", "64",
                              "--epochs", "1", "--quiet", *seeds, "--out", tmp_path / name)
        assert result.exit_code == 0, text
        runs[name] = json.loads((tmp_path / name / "config.json").read_text())
    assert runs["s1split0"]["split_seed"] == 0 and runs["s1"]["split_seed"] is None
    same, other = val_labels(tmp_path / "s1split0"), val_labels(tmp_path / "s1")
    assert np.array_equal(same, val_labels(tmp_path / "s0"))  # the held-out labels, in order
    assert not np.array_equal(same, other)  # --seed alone carves another split


def test_a_negative_split_seed_is_refused(tmp_path):
    result, text = invoke("train", "lenet5", *TINY, "--split-seed", "-1", "--out", tmp_path / "x")
    assert result.exit_code == 2 and "split_seed" in text.replace("-", "_") and "-1" in text, text
    assert not (tmp_path / "x").exists()

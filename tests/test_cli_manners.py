"""The CLI's own manners: --version, defaults visible in --help, a readable zoo info."""

from kit import invoke, save_image

import zoo


def test_version_prints_the_package_version():
    result = invoke("--version")
    assert result.exit_code == 0 and result.output.strip() == f"zoo {zoo.__version__}"


def test_help_shows_every_default_that_the_text_names():
    result = invoke("train", "--help", terminal_width=100)
    assert result.exit_code == 0
    for text in ("[default: the model's]", "[default: 128]", "[default: runs/MODEL-DATASET]", "--recipe"):
        assert text in result.output, text


def test_info_says_how_flops_are_counted():
    result = invoke("info", "simplenet", "--no-summary", terminal_width=80)
    assert result.exit_code == 0 and "2 FLOPs per multiply-add" in result.output


def test_info_summary_fits_80_columns_with_its_param_column(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    result = invoke("info", "resnet20", terminal_width=80)
    assert result.exit_code == 0 and "Param #" in result.output
    assert max(len(line) for line in result.output.splitlines()) <= 80


def test_resume_names_the_options_it_keeps_and_train_prints_tensorboard(tmp_path):
    out = tmp_path / "run"
    tiny = ["--input-shape", "16,16,1", "--limit", "128", "--epochs", "1", "--out", str(out)]
    first = invoke("train", "simplenet", *tiny, terminal_width=200)
    assert first.exit_code == 0, first.output
    assert "tensorboard --logdir" in first.output and (out / "logs" / "train").is_dir()
    again = invoke("train", "simplenet", *tiny, "--resume", "--lr", "0.05", "--optimizer", "sgd",
                   terminal_width=200)
    assert again.exit_code == 0, again.output
    text = " ".join(again.output.split())
    assert "--resume keeps the run's own settings: optimizer 'adam' (not 'sgd'), lr 0.001 (not 0.05)" in text


def test_batchnorm_note_fires_only_for_bn_models_far_apart_early():
    import keras

    from zoo.flops import weightless_model
    from zoo.training.trainer import batchnorm_note

    bn, plain = weightless_model("vgg_small"), weightless_model("simplenet")
    early = [{"epoch": 0, "accuracy": 0.46, "val_accuracy": 0.14}]
    assert "batch normalization" in batchnorm_note(bn, early)
    assert batchnorm_note(plain, early) is None  # no BN: the gap means something else
    assert batchnorm_note(bn, [{"epoch": 0, "accuracy": 0.46, "val_accuracy": 0.44}]) is None
    late = [{"epoch": e, "accuracy": 0.46, "val_accuracy": 0.14} for e in range(5)]
    assert batchnorm_note(bn, late) is None
    assert isinstance(bn, keras.Model)


def test_shell_completion_offers_model_and_shipped_names(tmp_path):
    import os
    import subprocess
    import sys

    def complete(words):
        env = {**os.environ, "COMP_WORDS": words, "COMP_CWORD": str(len(words.split()) - 1),
               "_ZOO_COMPLETE": "complete_bash"}
        zoo_script = os.path.join(os.path.dirname(sys.executable), "zoo")  # the name completion is keyed by
        return subprocess.run([zoo_script], env=env, capture_output=True, text=True, cwd=tmp_path).stdout.split()

    assert "resnet20" in complete("zoo train resn") and "lenet5" not in complete("zoo train resn")
    (tmp_path / "simple_run").mkdir()
    assert set(complete("zoo eval simple")) >= {"simplenet", "simple_run/"}


def test_a_folder_of_mixed_size_rgb_images_trains_in_rgb(tmp_path):
    import json

    import numpy as np

    rng = np.random.default_rng(0)
    for c, name in enumerate(("red", "blue")):
        for i in range(12):
            h, w = (20 + 3 * i, 30 + 2 * i)  # every image another size
            img = rng.integers(0, 60, (h, w, 3), dtype=np.uint8)
            img[..., 2 * c] = 200
            save_image(tmp_path / "data" / name / f"{i}.png", img)
    out = tmp_path / "run"
    result = invoke("train", "simplenet", "--dataset", f"folder:{tmp_path / 'data'}", "--epochs",
                    "1", "--val-split", "0.25", "--out", str(out), terminal_width=200)
    assert result.exit_code == 0, result.output
    assert json.loads((out / "config.json").read_text())["input_shape"] == [28, 28, 3]
    assert "differ in size: each is resized to 28x28 (RGB)" in " ".join(result.output.split())


def test_val_split_zero_trains_on_all_the_training_data(tmp_path):
    import json

    out = tmp_path / "run"
    result = invoke("train", "simplenet", "--input-shape", "16,16,1", "--limit", "256", "--epochs",
                    "1", "--val-split", "0", "--quiet", "--out", str(out))
    assert result.exit_code == 0, result.output
    config = json.loads((out / "config.json").read_text())
    assert config["dataset_sizes"]["train"] == 256 and "val" not in config["dataset_sizes"]
    assert json.loads((out / "metrics.json").read_text())["split"] == "test"
    refused = invoke("train", "simplenet", "--input-shape", "16,16,1", "--limit", "256",
                     "--val-split", "0", "--early-stopping", "2", "--out", str(tmp_path / "b"))
    assert refused.exit_code != 0 and "need --val-split > 0" in refused.output and not (tmp_path / "b").exists()


def _event_bytes(folder) -> bytes:
    return b"".join(p.read_bytes() for p in folder.rglob("events.out.tfevents.*"))


def test_tensorboard_logs_scalars_and_the_lr_and_histograms_only_when_asked(tmp_path):
    tiny = ["--input-shape", "16,16,1", "--limit", "128", "--epochs", "1", "--quiet"]
    for name, extra in (("plain", []), ("histograms", ["--histograms", "1"])):
        result = invoke("train", "simplenet", *tiny, *extra, "--out", str(tmp_path / name))
        assert result.exit_code == 0, result.output
    plain, with_histograms = _event_bytes(tmp_path / "plain" / "logs"), _event_bytes(tmp_path / "histograms" / "logs")
    for tag in (b"epoch_loss", b"epoch_accuracy", b"epoch_learning_rate"):
        assert tag in plain, tag
    assert b"histograms" not in plain and b"histograms" in with_histograms

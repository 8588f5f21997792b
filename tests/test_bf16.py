"""A model trained in mixed bfloat16 is a deliverable like any other (issue #24).

It runs everywhere: on CPUs with AVX512_BF16/AMX bf16 is native, elsewhere TensorFlow emulates it
(slower, still correct), so this file covers both kinds of machine. The run exports to all three
formats, and every downstream command computes in float32 on its weights, so its maps and robust
accuracies equal those of a float32 copy made here by hand.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from kit import cli, cli_json, pixels, save_image


@pytest.fixture(scope="module")
def bf16_run(tmp_path_factory):
    from zoo.training import TrainConfig
    from zoo.training.trainer import train

    out = tmp_path_factory.mktemp("bf16") / "run"
    train(TrainConfig(model="simplenet", epochs=1, limit=300, precision="mixed_bfloat16", out=str(out)))
    return out


@pytest.fixture(scope="module")
def float32_twin(bf16_run, tmp_path_factory):
    """The same architecture built under float32 by the registry, given the bf16 run's weights."""
    import keras

    import zoo
    from zoo.run import load_model

    trained = load_model(bf16_run, as_trained=True)
    assert trained.layers[-1].dtype_policy.name == "mixed_bfloat16"  # the file really is a bf16 model
    twin = zoo.create_model("simplenet")
    twin.set_weights(trained.get_weights())
    twin.get_layer("standardize").finalize_state()
    assert all(layer.dtype_policy.name == "float32" for layer in twin.layers)
    path = tmp_path_factory.mktemp("twin") / "twin.keras"
    twin.save(path)
    keras.backend.clear_session()
    return path


def test_config_and_info_say_bf16(bf16_run):
    config = json.loads((bf16_run / "config.json").read_text())
    assert config["precision"] == "mixed_bfloat16" and config["decisions"]["precision"] == "mixed_bfloat16"
    code, out = cli("info", bf16_run)
    assert code == 0 and "mixed_bfloat16" in out
    code, runs, _ = cli_json("runs", bf16_run.parent, "--json")
    assert code == 0 and runs[0]["precision"] == "mixed_bfloat16"


def test_loaded_model_computes_in_float32_with_the_same_weights(bf16_run):
    from zoo.precision import model_precision
    from zoo.run import load_model

    as_trained, loaded = load_model(bf16_run, as_trained=True), load_model(bf16_run)
    assert model_precision(as_trained) == "mixed_bfloat16" and model_precision(loaded) == "float32"
    for a, b in zip(as_trained.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)  # nothing rounded on the way
    x = pixels(8, (28, 28, 1), seed=1)
    bf16 = np.asarray(as_trained(x), "float32")
    fp32 = np.asarray(loaded(x))
    assert fp32.dtype == np.float32
    # the same function up to bf16 rounding (8 bits of mantissa), not another model
    assert np.abs(bf16 - fp32).max() < 0.05 * max(1.0, np.abs(fp32).max())


@pytest.mark.parametrize("fmt,suffix", [("savedmodel", ""), ("tflite", ".tflite"), ("onnx", ".onnx")])
def test_bf16_run_exports_in_float32(bf16_run, tmp_path, fmt, suffix):
    from zoo.export import RUNNERS, export_model
    from zoo.run import load_model

    result = export_model(bf16_run, fmt, tmp_path / f"m{suffix}")
    assert result.max_abs_diff <= 1e-3 * max(1.0, result.logit_scale)
    x = pixels(4, (28, 28, 1), seed=2)
    got = np.asarray(RUNNERS[fmt](result.path, x))
    assert got.dtype == np.float32  # served in float32, not bfloat16
    np.testing.assert_allclose(got, np.asarray(load_model(bf16_run)(x)), atol=1e-3)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging left


def test_explain_maps_equal_the_float32_copy(bf16_run, float32_twin, tmp_path):
    from scipy.stats import spearmanr

    from zoo.explain.registry import resolve_methods

    methods = resolve_methods("all")  # what --method all draws
    maps = {}
    for name, model in (("bf16", bf16_run), ("fp32", float32_twin)):
        code, out = cli("explain", model, "--method", "all", "--samples", 8, "--n", 4, "--out", tmp_path / name)
        assert code == 0, out
        maps[name] = {m: np.load(tmp_path / name / f"maps_{m}.npy") for m in methods}
    for m in methods:
        a, b = maps["bf16"][m], maps["fp32"][m]
        for i in range(len(a)):
            assert spearmanr(a[i].ravel(), b[i].ravel())[0] >= 0.99, (m, i)


def test_attack_robust_accuracy_equals_the_float32_copy(bf16_run, float32_twin, tmp_path):
    rows = {}
    for name, model in (("bf16", bf16_run), ("fp32", float32_twin)):
        code, out = cli("attack", model, "--method", "fgsm,pgd", "--eps", "4,16", "--n", 24,
                        "--steps", 3, "--out", tmp_path / name)
        assert code == 0, out
        report = json.loads((tmp_path / name / "report.json").read_text())
        rows[name] = [(m, r["eps"], r["robust_accuracy"]) for m, rs in report["results"].items() for r in rs]
    assert len(rows["bf16"]) == 4 and rows["bf16"] == rows["fp32"]


@pytest.mark.parametrize("command", ["eval", "predict", "features", "ensemble"])
def test_other_commands_take_the_bf16_run(bf16_run, float32_twin, tmp_path, command):
    if command == "eval":
        code, m, out = cli_json("eval", bf16_run, "--limit", 64, "--json")
        _, m32, _ = cli_json("eval", float32_twin, "--limit", 64, "--json")
        assert code == 0 and m["accuracy"] == m32["accuracy"], out
    elif command == "predict":
        save_image(tmp_path / "a.png", np.tile(np.arange(28, dtype=np.uint8) * 9, (28, 1)))
        code, preds, out = cli_json("predict", bf16_run, tmp_path / "a.png", "--json")
        _, preds32, _ = cli_json("predict", float32_twin, tmp_path / "a.png", "--json")
        probs = lambda p: [t["probability"] for t in p["predictions"][0]["top"]]  # noqa: E731
        assert code == 0 and probs(preds) == probs(preds32), out
    elif command == "features":
        feats = {}
        for name, model in (("bf16", bf16_run), ("fp32", float32_twin)):
            code, out = cli("features", model, "--out", tmp_path / f"{name}.npz", "--limit", 32)
            assert code == 0, out
            feats[name] = np.load(tmp_path / f"{name}.npz")["features"]
        # float32 features, not bf16's ~2,000 distinct values: exactly the float32 copy's
        assert feats["bf16"].dtype == np.float32
        np.testing.assert_array_equal(feats["bf16"], feats["fp32"])
    else:
        code, out = cli("ensemble", bf16_run, float32_twin, "--out", tmp_path / "ens.keras")
        assert code == 0, out
        code, m, out = cli_json("eval", tmp_path / "ens.keras", "--limit", 64, "--json")
        assert code == 0, out


def test_resume_on_a_cpu_without_bf16_keeps_the_recorded_precision(tmp_path, monkeypatch):
    """A bf16 run (auto on an AVX512_BF16 CPU) resumed where auto would say fp32 stays bf16, and says so."""
    from zoo.training import TrainConfig, distributed
    from zoo.training.trainer import train

    out = tmp_path / "run"
    monkeypatch.setattr(distributed, "cpu_flags", lambda: {"avx2", "avx512_bf16"})
    config = TrainConfig(model="simplenet", epochs=1, limit=200, out=str(out))
    train(config)
    assert json.loads((out / "config.json").read_text())["decisions"]["precision"] == "mixed_bfloat16"
    monkeypatch.setattr(distributed, "cpu_flags", lambda: {"avx2"})
    from zoo.progress import Notes

    told = Notes()
    result = train(TrainConfig(model="simplenet", epochs=2, limit=200, out=str(out)), resume=True, progress=told)
    said = told.notes
    saved = json.loads((out / "config.json").read_text())
    assert saved["decisions"]["precision"] == "mixed_bfloat16"  # config.json keeps the truth
    assert any("trained in mixed_bfloat16" in s and "continues in mixed_bfloat16" in s for s in said), said
    assert len(result.history) == 2

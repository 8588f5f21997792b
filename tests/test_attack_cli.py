"""`zoo attack` end to end (CliRunner), its error messages, and the robustness report's logic."""

from __future__ import annotations

import json

import numpy as np
import pytest

keras = pytest.importorskip("keras")
from kit import (FASHION_CLASSES as CLASSES, fake_run, invoke, needs_real_fashion_mnist, pixels,  # noqa: E402
                 tiny_classifier, write_npz)

from zoo.attack.registry import ATTACKS  # noqa: E402
from zoo.attack.report import evaluate_robustness, red_flags, resolve_target, transfer_matrix  # noqa: E402
from zoo.errors import InvalidArgumentError, UnknownNameError  # noqa: E402

WEAKEST, STRONGEST = ATTACKS.names()[0], ATTACKS.names()[-1]  # what --compare adds


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Two run directories (model.keras + config.json) and a .keras file that is not a classifier."""
    root = tmp_path_factory.mktemp("attack_runs")
    paths = []
    for seed in (0, 1):
        paths.append(fake_run(root, tiny_classifier(seed=seed), name=f"run{seed}", class_names=CLASSES))
    inp = keras.Input((28, 28, 1), name="image")  # the one model here that is not a classifier: built by hand
    seg = keras.Model(inp, keras.layers.Conv2D(1, 3, padding="same", name="mask")(inp))
    seg.save(root / "segmenter.keras")
    return paths[0], paths[1], root / "segmenter.keras"


def _invoke(*args):
    return invoke("attack", *args)


@pytest.mark.parametrize(
    "eps, match",
    [("-1", "got -1.0"), ("2,300", "got 300.0"), ("2,abc", "'abc'"), ("", "comma-separated numbers")],
)
def test_bad_eps_exits_with_message(runs, eps, match):
    result = _invoke(runs[0], "--eps", eps)
    assert result.exit_code != 0
    assert "--eps" in result.output and match in result.output
    assert "Traceback" not in result.output


def test_unit_scale_eps_must_be_fraction(runs):
    result = _invoke(runs[0], "--eps", "8", "--eps-scale", "unit")
    assert result.exit_code != 0 and "[0, 1]" in result.output


def test_unknown_target_class(runs):
    result = _invoke(runs[0], "--target", "Sneakers!")
    assert result.exit_code != 0
    assert "no class 'Sneakers!'" in result.output and "Sneaker" in result.output


def test_not_a_classifier(runs):
    result = _invoke(runs[2])
    assert result.exit_code != 0 and "not a classifier" in result.output


def test_overlay_must_be_a_report(runs, tmp_path):
    bad = tmp_path / "notes.json"
    bad.write_text("{}")
    result = _invoke(runs[0], "--overlay", bad)
    assert result.exit_code != 0 and "not a report.json written by `zoo attack`" in result.output


def test_unknown_method(runs):
    result = _invoke(runs[0], "--method", "fgsn")
    assert result.exit_code != 0 and "Unknown attack method 'fgsn'" in result.output and "fgsm" in result.output


@needs_real_fashion_mnist
def test_attack_run_writes_report_figures_and_transfer(runs, tmp_path):
    out = tmp_path / "out"
    result = _invoke(runs[0], "--compare", "--eps", "4,8", "--n", "24", "--steps", "2", "--png-count", "2",
                     "--out", out, "--eval-on", runs[1], runs[0], "--batch-size", "16")
    assert result.exit_code == 0, result.output
    report = json.loads((out / "report.json").read_text())
    assert report["samples"] == 24 and report["attack"]["methods"] == [WEAKEST, STRONGEST]
    for method in (WEAKEST, STRONGEST):
        rows = report["results"][method]
        assert [r["eps"] for r in rows] == [4.0, 8.0]
        for r in rows:
            assert r["mean_linf"] <= r["eps"] + 1e-4
            assert set(r["per_class_robust_accuracy"]) == set(CLASSES)
    assert len(report["noise_baseline"]["rows"]) == 2
    transfer = report["transfer"][STRONGEST]
    assert np.asarray(transfer["accuracy"]).shape == (3, 3)  # source + 2 models, clean + 2 eps
    assert transfer["accuracy"][2] == transfer["accuracy"][0]  # the source evaluated again: same numbers
    for name in ("accuracy_vs_eps.png", "examples.png", f"transfer_{STRONGEST}.png", "adversarial.npz"):
        assert (out / name).stat().st_size > 0, name
    arrays = np.load(out / "adversarial.npz")
    assert arrays[f"{STRONGEST}_eps8"].shape == (24, 28, 28, 1)
    assert np.abs(arrays[f"{STRONGEST}_eps8"] - arrays["images"]).max() <= 8 + 1e-4
    assert len(list((out / "images" / f"{WEAKEST}_eps4").glob("*.png"))) == 2
    assert "clean accuracy" in result.output


# ---------------------------------------------------------------- report logic without the CLI


def _report(clean, fgsm, pgd=None, noise=None, eps=(2, 4, 8), n=1000):
    def rows(accs):
        return [{"eps": float(e), "robust_accuracy": a} for e, a in zip(eps, accs)]

    results = {"fgsm": rows(fgsm)}
    if pgd:
        results["pgd"] = rows(pgd)
    noise = noise or [clean] * len(eps)
    return {"samples": n, "clean": {"accuracy": clean}, "results": results,
            "noise_baseline": {"rows": [{"eps": float(e), "accuracy": a} for e, a in zip(eps, noise)]}}


def test_red_flags():
    assert red_flags(_report(0.9, [0.7, 0.5, 0.3], [0.6, 0.4, 0.1])) == []
    rising = red_flags(_report(0.9, [0.7, 0.8, 0.3]))
    assert len(rising) == 1 and "rises with eps" in rising[0]
    weaker = red_flags(_report(0.9, [0.7, 0.5, 0.3], [0.7, 0.6, 0.3]))
    assert len(weaker) == 1 and "pgd is weaker than fgsm at eps 4" in weaker[0]
    noisy = red_flags(_report(0.9, [0.8, 0.7, 0.6], noise=[0.9, 0.5, 0.4]))
    assert len(noisy) == 2 and all("noise hurts more" in f for f in noisy)
    # one example of difference is noise, not a flag
    assert red_flags(_report(0.9, [0.7, 0.701, 0.3])) == []


def test_resolve_target():
    assert resolve_target(None, CLASSES) is None
    assert resolve_target("least-likely", CLASSES) == "least-likely"
    assert resolve_target("sneaker", CLASSES) == 7
    assert resolve_target("3", CLASSES) == 3
    with pytest.raises(InvalidArgumentError, match="target 12 is not a class index of this model: it has classes 0..9"):
        resolve_target("12", CLASSES)
    with pytest.raises(UnknownNameError, match="Did you mean: Sandal"):
        resolve_target("sandals", CLASSES)


def test_evaluate_robustness_targeted_and_transfer():
    model, other = tiny_classifier(seed=0), tiny_classifier(seed=1)
    x = pixels(12, (28, 28, 1), whole=True)
    y = np.arange(12) % 10
    every = list(ATTACKS.names())
    run = evaluate_robustness(model, x, y, CLASSES, methods=every, eps_list=[0, 16], target="least-likely",
                              steps=3, batch_size=5)
    assert run.report["attack"]["targeted"] and run.report["attack"]["labels"] == "target"
    np.testing.assert_array_equal(run.attack_labels, run.clean_logits.argmin(axis=1))
    for method in every:
        zero = run.report["results"][method][0]
        assert zero["eps"] == 0 and zero["mean_l2"] == 0.0
        assert zero["robust_accuracy"] == run.report["clean"]["accuracy"]
    untargeted = evaluate_robustness(model, x, y, CLASSES, eps_list=[4], use_labels=False)
    assert untargeted.report["attack"]["labels"] == "predicted"
    np.testing.assert_array_equal(untargeted.attack_labels, untargeted.clean_logits.argmax(axis=1))
    transfer = transfer_matrix(run, "a", [("b", other)])
    for method in every:
        assert transfer[method]["models"] == ["a", "b"] and transfer[method]["eps"] == [0.0, 0.0, 16.0]


def test_all_attacks_the_whole_split(runs, tmp_path):
    data = write_npz(tmp_path / "tiny.npz", 30, (28, 28, 1), 10, test=True)
    out = tmp_path / "out"
    result = _invoke(runs[0], "--dataset", f"npz:{data}", "--all", "--eps", "4", "--png-count", "0", "--out", out)
    assert result.exit_code == 0, result.output
    report = json.loads((out / "report.json").read_text())
    assert report["samples"] == 30 and report["dataset"] == f"npz:{data}"
    assert not (out / "images").exists()


def test_red_flags_targeted_use_success_rate():
    report = _report(0.9, [0.5, 0.3], [0.8, 0.7], eps=(8, 16))  # pgd keeps accuracy: fine when targeted
    report["attack"] = {"targeted": True}
    for method, rates in (("fgsm", [0.1, 0.2]), ("pgd", [0.6, 0.9])):
        for row, rate in zip(report["results"][method], rates):
            row["success_rate"] = rate
    assert red_flags(report) == []
    report["results"]["pgd"][1]["success_rate"] = 0.1
    flags = red_flags(report)
    assert any("targeted success falls with eps" in f for f in flags)
    assert any("pgd is weaker than fgsm at eps 16" in f and "success" in f for f in flags)


def test_eps_under_one_pixel_level_gets_a_note_naming_the_flag(runs, tmp_path):
    result = _invoke(runs[0], "--eps", "0.03", "--n", "4", "--png-count", "0", "--out", tmp_path / "small")
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "--eps 0.03 is below one pixel level" in text and "pass --eps-scale unit" in text
    assert 'eps_scale="unit"' not in text

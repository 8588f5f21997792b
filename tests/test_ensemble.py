"""Ensembles: voting rules, the independence formula, the saved model, the CLI."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from kit import fake_run, invoke, pixels, tiny_classifier, write_npz

from zoo.ensemble import (
    binomial_vote_error,
    ensemble_logits,
    ensemble_report,
    hard_vote,
    independent_vote_error,
    pairwise_stats,
    soft_vote,
    vote_counts,
    wrong_count_distribution,
)
from zoo.errors import InvalidArgumentError, UnknownNameError


def _probs(*rows):
    return np.asarray(rows, dtype="float64")


# ------------------------------------------------------------------------------------- voting


def test_majority_wins_even_against_higher_average_probability():
    # members 0 and 1 mildly prefer class 0; member 2 is very sure of class 1
    probs = _probs([[0.6, 0.4, 0.0]], [[0.55, 0.45, 0.0]], [[0.0, 1.0, 0.0]])
    assert hard_vote(probs).tolist() == [0]
    assert soft_vote(probs).tolist() == [1]  # soft average: 0.383 vs 0.617
    assert vote_counts(probs).tolist() == [[2, 1, 0]]


def test_tie_broken_by_summed_probabilities_deterministically():
    # 4 members: 2 vote class 0, 2 vote class 2; summed probability favours class 2
    probs = _probs(
        [[0.50, 0.10, 0.40]], [[0.45, 0.20, 0.35]], [[0.05, 0.05, 0.90]], [[0.30, 0.20, 0.50]]
    )
    assert vote_counts(probs).tolist() == [[2, 0, 2]]
    assert hard_vote(probs).tolist() == [2]
    # three-way tie among single votes: highest summed probability wins
    probs = _probs([[0.9, 0.05, 0.05]], [[0.3, 0.4, 0.3]], [[0.3, 0.3, 0.4]])
    assert hard_vote(probs).tolist() == [0]
    # exact tie in votes and probabilities: the lower class index, always
    probs = _probs([[0.6, 0.4]], [[0.4, 0.6]])
    assert hard_vote(probs).tolist() == [0]


def test_ensemble_logits_argmax_is_the_vote_and_finite():
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 3, size=(5, 200, 7))
    logits[0, 0, 3] = 200.0  # a saturated member: softmax gives exact 0s
    from zoo.ensemble import softmax

    scores = ensemble_logits(logits, "vote")
    assert np.isfinite(scores).all()
    assert np.allclose(np.exp(scores).sum(axis=1), 1.0)
    assert (scores.argmax(1) == hard_vote(softmax(logits))).all()
    assert (ensemble_logits(logits, "soft").argmax(1) == soft_vote(softmax(logits))).all()


# -------------------------------------------------------------------------------- independence


def test_independence_formula_exact_values():
    e = 0.01
    expected = 1 - (1 - e) ** 3 - 3 * (1 - e) ** 2 * e
    assert independent_vote_error([e] * 3) == pytest.approx(expected, abs=1e-15)
    assert independent_vote_error([e] * 3) == pytest.approx(0.000298, abs=1e-12)
    # 5 members at 0.3: sum_{j>=3} C(5,j) .3^j .7^(5-j) = 0.16308
    assert independent_vote_error([0.3] * 5) == pytest.approx(0.16308, abs=1e-12)
    assert binomial_vote_error(5, 0.3) == pytest.approx(0.16308, abs=1e-12)
    # even M: an exact split counts as a coin flip
    assert independent_vote_error([0.2, 0.2]) == pytest.approx(0.04 + 0.5 * 0.32)
    # one member: its own error
    assert independent_vote_error([0.17]) == pytest.approx(0.17)


def test_poisson_binomial_with_different_error_rates():
    a, b, c = 0.1, 0.2, 0.3
    dist = wrong_count_distribution([a, b, c])
    assert dist.sum() == pytest.approx(1.0)
    assert dist[3] == pytest.approx(a * b * c)
    majority = a * b * (1 - c) + a * (1 - b) * c + (1 - a) * b * c + a * b * c
    assert independent_vote_error([a, b, c]) == pytest.approx(majority)  # 0.098
    for m in (2, 3, 4, 7):
        assert independent_vote_error([0.25] * m) == pytest.approx(binomial_vote_error(m, 0.25))


def test_paired_comparison_counts_only_the_images_where_the_two_differ():
    from zoo.ensemble import paired_comparison

    labels = np.array([0, 1, 2, 0, 1, 2, 0, 1])
    reference = np.array([0, 1, 2, 0, 0, 0, 0, 2])  # wrong on 4, 5, 7
    ours = np.array([0, 1, 0, 0, 1, 2, 1, 2])  # right on 4, 5; wrong on 2, 6, 7
    got = paired_comparison(ours, reference, labels)
    assert got == {"fixed": 2, "broken": 2, "net": 0, "z": 0.0}  # same accuracy, four images apart
    assert paired_comparison(labels, reference, labels)["z"] == pytest.approx(3 / math.sqrt(3))
    assert paired_comparison(reference, reference, labels) == {"fixed": 0, "broken": 0, "net": 0, "z": 0.0}


def test_report_diversity_and_prediction():
    labels = np.array([0, 0, 1, 1, 2, 2])
    preds = np.array([[0, 0, 1, 1, 2, 0], [0, 1, 1, 1, 2, 2], [1, 0, 1, 1, 2, 2]])
    pairs = pairwise_stats(preds, labels)
    assert pairs[0]["disagreement"] == pytest.approx(2 / 6)
    assert pairs[0]["both_wrong"] == 0.0
    # errors of member 0 at [5], member 1 at [1]: phi = (0 - 1/36) / (sqrt(5)/6)^2 = -0.2
    assert pairs[0]["error_correlation"] == pytest.approx(-0.2)
    logits = np.log(np.eye(3)[preds] * 0.9 + 0.05)
    report = ensemble_report(labels, logits, ["a", "b", "c"], "vote")
    assert [m["accuracy"] for m in report["members"]] == pytest.approx([5 / 6] * 3)
    assert report["vote_accuracy"] == 1.0
    assert report["gain_over_best_member"] == pytest.approx(1 / 6)
    assert report["vote_error_if_independent"] == pytest.approx(independent_vote_error([1 / 6] * 3))
    # the vote fixes member a's one error (image 5) and breaks none of its right answers
    assert report["vs_best_member"] == {"fixed": 1, "broken": 0, "net": 1, "z": pytest.approx(1.0)}
    with pytest.raises(UnknownNameError, match="ensemble method"):
        ensemble_report(labels, logits, ["a", "b", "c"], "median")


# ---------------------------------------------------------------------------------- the model


def _tiny(shape, classes=3, seed=0):
    return tiny_classifier(shape, classes, seed=seed, pool=True, hidden=8)


def test_saved_ensemble_round_trip_with_mixed_input_shapes(tmp_path):
    from zoo.ensemble import build_ensemble_model, ensemble_members, softmax
    from zoo.run import load_classifier

    members = [_tiny((28, 28, 1), seed=0), _tiny((32, 32, 3), seed=1), _tiny((28, 28, 1), seed=2)]
    x = pixels(6, (28, 28, 1))
    import keras

    direct = np.stack([
        members[0].predict(x, verbose=0),
        members[1].predict(np.repeat(keras.ops.convert_to_numpy(keras.ops.image.resize(x, (32, 32))), 3, -1), verbose=0),
        members[2].predict(x, verbose=0),
    ])
    model = build_ensemble_model(members, "vote")
    out = model.predict(x, verbose=0)
    assert out.shape == (6, 3)
    assert (out.argmax(1) == hard_vote(softmax(direct))).all()
    np.testing.assert_allclose(out, ensemble_logits(direct, "vote"), atol=1e-4)
    model.save(tmp_path / "ens.keras")
    loaded, names = load_classifier(tmp_path / "ens.keras")
    assert names == ["0", "1", "2"]
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), out)
    assert len(ensemble_members(loaded)) == 3


def test_members_with_different_class_counts_are_refused():
    from zoo.ensemble import build_ensemble_model

    with pytest.raises(InvalidArgumentError, match=r"class counts differ \(a: 3, b: 5\)"):
        build_ensemble_model([_tiny((8, 8, 1), 3), _tiny((8, 8, 1), 5)], names=["a", "b"])


# ---------------------------------------------------------------------------------------- CLI


@pytest.fixture
def tiny_runs(tmp_path):
    """Two run directories (3 classes, 8x8x1 and 10x10x1 inputs) and an npz dataset for them."""
    data = write_npz(tmp_path / "tiny.npz", 40, (8, 8, 1), 3, test=True, class_names=["a", "b", "c"])
    runs = [str(fake_run(tmp_path, _tiny(shape, seed=i), name=f"run{i}", dataset=f"npz:{data}",
                         class_names=["a", "b", "c"]))
            for i, shape in enumerate([(8, 8, 1), (10, 10, 1), (8, 8, 1)])]
    return runs, data


def test_cli_ensemble_saves_one_model_and_reports(tiny_runs, tmp_path):
    from zoo.run import load_classifier

    runs, _ = tiny_runs
    out = tmp_path / "ens"
    result = invoke("ensemble", *runs, "--out", out, "--batch-size", "16")
    assert result.exit_code == 0, result.output
    assert "max-vote" in result.output and "independent" in result.output
    report = json.loads((out / "report.json").read_text())
    assert report["num_examples"] == 40 and report["num_members"] == 3
    assert (out / "ensemble.png").stat().st_size > 0
    model, names = load_classifier(out)
    assert names == ["a", "b", "c"]
    # the saved model predicts exactly the reported vote
    x = np.load(tiny_runs[1])["x_test"].astype("float32")
    y = np.load(tiny_runs[1])["y_test"]
    assert (model.predict(x, verbose=0).argmax(1) == y).mean() == pytest.approx(report["vote_accuracy"])
    # and `eval`-style re-evaluation of the saved ensemble alone reuses its members
    from zoo.cli.ensemble import run_ensemble_eval

    again = run_ensemble_eval([str(out)], ensemble=None, dataset=None, split="test", data_dir=None, limit=None,
                              batch_size=8, out=None, json_output=True)
    assert again["vote_accuracy"] == pytest.approx(report["vote_accuracy"])
    assert again["method"] == "vote"


def test_cli_ensemble_bad_inputs(tiny_runs, tmp_path):
    runs, _ = tiny_runs
    result = invoke("ensemble", runs[0], tmp_path / "nope", "--out", tmp_path / "e.keras")
    assert result.exit_code != 0
    assert "No such run directory or model file" in result.output and "nope" in result.output
    other = tmp_path / "five.keras"
    _tiny((8, 8, 1), classes=5).save(other)
    result = invoke("ensemble", runs[0], other, "--out", tmp_path / "e.keras")
    assert result.exit_code != 0
    assert "class counts differ" in result.output
    assert not (tmp_path / "e.keras").exists()
    result = invoke("ensemble", runs[0], runs[1], "--out", tmp_path / "e.keras", "--method", "max")
    assert result.exit_code != 0 and "Unknown ensemble method 'max'" in result.output


def test_cli_features_exports_penultimate_features(tiny_runs, tmp_path):
    runs, _ = tiny_runs
    out = tmp_path / "feats.npz"
    result = invoke("features", runs[0], "--split", "test", "--out", out, "--batch-size", "16")
    assert result.exit_code == 0, result.output
    with np.load(out) as f:
        assert f["features"].shape == (40, 8)  # fc1's 8 units: the input of "logits"
        assert f["labels"].shape == (40,)
        assert f["class_names"].tolist() == ["a", "b", "c"]
        from zoo.run import load_model

        model = load_model(runs[0])
        w, b = model.get_layer("logits").get_weights()
        x = np.load(tiny_runs[1])["x_test"].astype("float32")
        np.testing.assert_allclose(f["features"] @ w + b, model.predict(x, verbose=0), atol=1e-4)
    assert math.isfinite(float(np.abs(np.load(out)["features"]).sum()))
    result = invoke("features", runs[0], "--layer", "conv", "--out", tmp_path / "f.npz")
    assert result.exit_code != 0 and "has no layer 'conv'. Did you mean: conv1?" in result.output


def test_zoo_eval_with_several_runs_delegates_to_the_ensemble(tiny_runs):
    runs, _ = tiny_runs
    result = invoke("eval", *runs, "--ensemble", "soft", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output.strip().splitlines()[-1])
    assert report["method"] == "soft" and report["num_members"] == 3
    assert report["accuracy"] == report["soft_accuracy"]
    assert [m["name"] for m in report["members"]] == ["run0", "run1", "run2"]


def test_members_are_named_as_the_user_named_them(tmp_path):
    from zoo.ensemble import member_names_for

    run = tmp_path / "seed3"
    run.mkdir()
    (run / "model.keras").write_bytes(b"")
    paths = ["resnet20", "resnet20.seed1", run, run / "model.keras", tmp_path / "mine.keras", "resnet20"]
    # a shipped name keeps its tag (the dot is no file suffix); repeats get #N
    assert member_names_for(paths) == ["resnet20", "resnet20.seed1", "seed3", "seed3#2", "mine", "resnet20#2"]

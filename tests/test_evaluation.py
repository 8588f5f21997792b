"""Exact metrics on hand-made logits, and logits_and_labels on a tiny model."""

import numpy as np
import pytest
from kit import cli_json, dataset_of, invoke, linear_classifier, pixels

from zoo.errors import InvalidArgumentError
from zoo.evaluation import classification_metrics, confusion_matrix, logits_and_labels, top_k_accuracy


def test_classification_metrics_exact_values():
    labels = np.array([0, 0, 1, 2, 2, 2])
    logits = np.array([
        [3, 1, 0],  # 0 -> 0
        [0, 2, 1],  # 0 -> 1
        [0, 5, 1],  # 1 -> 1
        [0, 0, 9],  # 2 -> 2
        [1, 0, 0],  # 2 -> 0
        [0, 1, 2],  # 2 -> 2
    ], dtype=float)
    m = classification_metrics(labels, logits, ["a", "b", "c"])
    assert m["accuracy"] == pytest.approx(4 / 6)
    assert m["top5"] is None  # only 3 classes
    assert m["per_class"] == {"a": 0.5, "b": 1.0, "c": pytest.approx(2 / 3)}
    assert m["confusion_matrix"] == [[1, 1, 0], [0, 1, 0], [1, 0, 2]]
    assert m["samples"] == 6


def test_top5_and_missing_class():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(50, 10))
    labels = np.argsort(-logits, axis=1)[:, 4]  # every label is the 5th largest -> in top 5
    labels[:10] = np.argsort(-logits[:10], axis=1)[:, 5]  # 6th largest -> not in top 5
    assert top_k_accuracy(labels, logits, 5) == pytest.approx(40 / 50)
    m = classification_metrics(labels, logits)
    assert m["top5"] == pytest.approx(0.8)
    cm = confusion_matrix([0, 0], [1, 1], 3)
    assert cm.tolist() == [[0, 2, 0], [0, 0, 0], [0, 0, 0]]
    m = classification_metrics(np.array([0, 0]), np.array([[1.0, 0, 0], [0, 1.0, 0]]))
    assert m["per_class"]["1"] is None and m["per_class"]["0"] == 0.5


def test_bad_labels_are_refused():
    with pytest.raises(InvalidArgumentError, match="Labels must lie in 0..1"):
        classification_metrics(np.array([0, 3]), np.zeros((2, 2)))
    with pytest.raises(InvalidArgumentError, match="class names"):
        classification_metrics(np.array([0]), np.zeros((1, 2)), ["x"])


def test_logits_and_labels_matches_model_and_keeps_labels():
    model = linear_classifier((4, 4, 1), 3)
    x = pixels(10, (4, 4, 1), seed=1)
    y = np.arange(10) % 3
    ds = dataset_of(x, y, batch=4)
    logits, labels = logits_and_labels(model, ds)
    assert logits.shape == (10, 3) and labels.tolist() == y.tolist()
    np.testing.assert_allclose(logits, model.predict(x, verbose=0), rtol=1e-5, atol=1e-4)


def test_eval_compare_gives_one_row_per_model_on_the_same_images(tmp_path):
    import json as _json

    params = {"simplenet": 233_196, "lenet5": 61_706}  # two shipped models and their weights, in this order
    code, rows, out = cli_json("eval", *params, "--compare", "--limit", "64", "--json", "--out", tmp_path)
    assert code == 0, out
    assert [r["model_path"] for r in rows] == list(params)
    assert rows[0]["samples"] == rows[1]["samples"] == 64
    assert [r["params"] for r in rows] == list(params.values())
    from zoo.evaluation import evaluate_path

    for row, name in zip(rows, params):  # each row is that model alone on the same images
        assert row["accuracy"] == evaluate_path(name, limit=64)["accuracy"]
    assert len(_json.loads((tmp_path / "compare.json").read_text())) == 2
    bad = invoke("eval", "simplenet", "nope.keras", "--compare")
    assert bad.exit_code != 0 and "nope.keras" in bad.output

"""The tools of the speed records (issue #20): test-time augmentation, weight EMA, MixUp/CutMix.

One-cycle's exact values are in test_schedules.py; an EMA + one-cycle + MixUp/CutMix run killed
at every write point resumes exactly (test_fault_injection.py).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from kit import cli, cli_json, dataset_of, fake_run, pixels, save_image, tiny_classifier

# ---------------------------------------------------------------- test-time augmentation


def test_views_are_the_image_its_mirror_and_one_pixel_shifts():
    from zoo.tta import view_count, views

    x = np.arange(2 * 4 * 5 * 1, dtype="float32").reshape(2, 4, 5, 1)
    none, flip, six = views(x, "none"), views(x, "flip"), views(x, "flip+shift")
    assert len(none) == 1 and len(flip) == 2 and len(six) == 6 == view_count("flip+shift")
    np.testing.assert_array_equal(np.asarray(flip[1]), x[:, :, ::-1])
    down_right = np.asarray(six[2])  # the original moved by (1, 1), zeros where nothing came in
    np.testing.assert_array_equal(down_right[:, 1:, 1:], x[:, :-1, :-1])
    assert not down_right[:, 0].any() and not down_right[:, :, 0].any()
    up_left = np.asarray(six[3])
    np.testing.assert_array_equal(up_left[:, :-1, :-1], x[:, 1:, 1:])


def test_tta_averages_the_logits_of_the_views():
    from zoo.evaluation import predict_logits
    from zoo.tta import views

    model = tiny_classifier()
    x = pixels(6, (28, 28, 1))
    single = predict_logits(model, x)
    mirrored = predict_logits(model, x[:, :, ::-1])
    np.testing.assert_allclose(predict_logits(model, x, tta="flip"), (single + mirrored) / 2, rtol=1e-5, atol=1e-5)
    per_view = [predict_logits(model, np.asarray(v)) for v in views(x, "flip+shift")]
    np.testing.assert_allclose(predict_logits(model, x, tta="flip+shift"), np.mean(per_view, 0), rtol=1e-5, atol=1e-5)


def test_bad_tta_names_the_choices():
    from zoo.errors import ZooError
    from zoo.tta import check_tta

    with pytest.raises(ZooError, match="flip"):
        check_tta("rotate")


def test_eval_reports_the_tta_and_the_single_view_beside_it(tmp_path):
    run = fake_run(tmp_path)
    code, plain, out = cli_json("eval", run, "--limit", 64, "--json")
    assert code == 0, out
    code, flipped, out = cli_json("eval", run, "--limit", 64, "--json", "--tta", "flip")
    assert code == 0, out
    assert plain["tta"] == "none" and flipped["tta"] == "flip"
    assert flipped["single_view_accuracy"] == plain["accuracy"]  # the single-view figure, unchanged


def test_a_mirror_symmetric_model_gains_nothing_from_flip_tta(tmp_path):
    """Global average pooling of a 1x1 conv does not see left from right: TTA must change nothing."""
    run = fake_run(tmp_path, tiny_classifier(convs=((8, 1),), kernel=1, pool=True, name="sym"))
    _, plain, _ = cli_json("eval", run, "--limit", 64, "--json")
    _, flipped, _ = cli_json("eval", run, "--limit", 64, "--json", "--tta", "flip")
    np.testing.assert_allclose(flipped["accuracy"], plain["accuracy"])


def test_ensemble_and_predict_say_their_tta(tmp_path):
    a = fake_run(tmp_path, tiny_classifier(seed=1), name="a")
    b = fake_run(tmp_path, tiny_classifier(seed=2), name="b")
    code, report, out = cli_json("eval", a, b, "--ensemble", "vote", "--limit", 64, "--json", "--tta", "flip")
    assert code == 0 and report["tta"] == "flip", out
    save_image(tmp_path / "x.png", np.full((28, 28), 90, np.uint8))
    code, preds, out = cli_json("predict", a, tmp_path / "x.png", "--json", "--tta", "flip+shift")
    assert code == 0 and preds["tta"] == "flip+shift", out


# ---------------------------------------------------------------- MixUp and CutMix


def _batches(n=16, size=8, classes=4, seed=0):
    x = pixels(n, (size, size, 1), seed=seed)
    y = (np.arange(n) % classes).astype("int64")  # the pairs i <-> B-1-i mixed in a batch differ in class
    return dataset_of(x, y, batch=n // 2), x, y


def test_mixup_mixes_images_and_labels_with_one_lambda():
    from zoo.data.mixing import mix_batches

    ds, x, y = _batches()
    for i, (mx, my) in enumerate(mix_batches(ds, num_classes=4, mixup=0.4, seed=3)):
        xb, yb = x[i * 8:(i + 1) * 8], np.eye(4)[y[i * 8:(i + 1) * 8]]
        my = np.asarray(my)
        np.testing.assert_allclose(my.sum(1), 1.0, rtol=1e-6)
        # the lambda the labels carry is the one the pixels were mixed with (pairs i <-> B-1-i)
        lam = float(np.asarray(mx)[0, 0, 0, 0] - xb[-1, 0, 0, 0]) / float(xb[0, 0, 0, 0] - xb[-1, 0, 0, 0])
        np.testing.assert_allclose(np.asarray(mx), lam * xb + (1 - lam) * xb[::-1], rtol=1e-4, atol=1e-3)
        np.testing.assert_allclose(my, lam * yb + (1 - lam) * yb[::-1], rtol=1e-4, atol=1e-5)


def test_cutmix_labels_carry_the_pasted_area():
    from zoo.data.mixing import mix_batches

    ds, x, y = _batches(size=10)
    for i, (mx, my) in enumerate(mix_batches(ds, num_classes=4, cutmix=1.0, seed=7)):
        xb = x[i * 8:(i + 1) * 8]
        mx, my = np.asarray(mx), np.asarray(my)
        pasted = (mx[0] != xb[0]).mean()  # the share of image 0's pixels that came from image 7
        onehot = np.eye(4)[y[i * 8:(i + 1) * 8]]
        np.testing.assert_allclose(my[0], (1 - pasted) * onehot[0] + pasted * onehot[-1], atol=1e-6)
        np.testing.assert_array_equal((mx != xb).any(axis=(1, 2, 3)), (mx[0] != xb[0]).any())  # one box for all


def test_mixing_is_the_same_for_the_same_seed_and_differs_for_another():
    from zoo.data.mixing import mix_batches

    ds, _, _ = _batches()
    first = [np.asarray(b[0]) for b in mix_batches(ds, num_classes=4, mixup=0.4, cutmix=1.0, seed=11)]
    again = [np.asarray(b[0]) for b in mix_batches(ds, num_classes=4, mixup=0.4, cutmix=1.0, seed=11)]
    other = [np.asarray(b[0]) for b in mix_batches(ds, num_classes=4, mixup=0.4, cutmix=1.0, seed=12)]
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    assert not all(np.array_equal(a, b) for a, b in zip(first, other))


# ---------------------------------------------------------------- weight EMA


def test_ema_run_judges_and_ships_the_averaged_weights(tmp_path):
    """model.keras holds the EMA of the weights (not the last raw ones), and the options are recorded."""
    from zoo.run import load_model
    from zoo.training import TrainConfig
    from zoo.training.trainer import train

    def run(**kw):
        out = tmp_path / ("ema" if kw.get("ema") else "raw")
        train(TrainConfig(model="simplenet", epochs=2, limit=400, seed=3, out=str(out), schedule="onecycle",
                          deterministic=True, mixup=0.2, **kw))
        return out

    raw, ema = run(), run(ema=0.9)
    config = json.loads((ema / "config.json").read_text())
    assert config["ema"] == 0.9 and config["schedule"] == "onecycle" and config["mixup"] == 0.2
    assert "larger of the two" in config["decisions"]["train_accuracy"]
    w_raw, w_ema = load_model(raw).get_weights(), load_model(ema).get_weights()
    # deterministic ops, same seed, data and steps: without EMA both runs would end bit-identical,
    # so the EMA run's shipped weights differ only because they are the average
    assert any(not np.allclose(a, b) for a, b in zip(w_raw, w_ema))
    history = [line.split(",") for line in (ema / "history.csv").read_text().splitlines()]
    assert len(history) == 3 and float(history[-1][history[0].index("val_accuracy")]) > 0.2


# ---------------------------------------------------------------- ensemble selection


def test_selection_beats_the_best_member_when_the_mistakes_differ():
    """Known answer: each image is right for exactly two of three members (70% each, wrong guesses
    all different), so their vote is right everywhere, and greedy selection must find a bag that is."""
    from zoo.ensemble import ensemble_logits, select_members

    n, k = 100, 5
    labels = np.arange(n) % k
    idx = np.arange(n)

    def member(right, shift):
        logits = np.zeros((n, k))
        logits[idx, np.where(right, labels, (labels + shift) % k)] = 5.0
        return logits

    stack = np.stack([member(idx < 70, 1), member(idx >= 30, 2), member((idx < 30) | (idx >= 70), 3)])
    counts = select_members(stack, labels, "vote")
    chosen = (ensemble_logits(stack, "vote", counts).argmax(1) == labels).mean()
    single = max((m.argmax(1) == labels).mean() for m in stack)
    assert single == pytest.approx(0.7) and chosen == 1.0 and counts.min() >= 1


def test_selection_never_scores_below_its_best_member():
    from zoo.ensemble import ensemble_logits, select_members

    rng = np.random.default_rng(1)
    labels = rng.integers(0, 10, 400)
    stack = rng.normal(size=(4, 400, 10))
    stack[0, np.arange(400), labels] += 2.5  # one strong member among noise
    counts = select_members(stack, labels, "soft")
    chosen = (ensemble_logits(stack, "soft", counts).argmax(1) == labels).mean()
    assert chosen >= max((m.argmax(1) == labels).mean() for m in stack)


def test_weighted_vote_layer_equals_the_numpy_rule():
    import keras

    from zoo.ensemble import ensemble_logits
    from zoo.layers import EnsembleVote

    rng = np.random.default_rng(0)
    logits = rng.normal(size=(3, 20, 5)).astype("float32")
    for method in ("vote", "soft"):
        layer = EnsembleVote(method, weights=[2, 0, 1])
        got = np.asarray(layer([keras.ops.convert_to_tensor(z) for z in logits]))
        np.testing.assert_allclose(got, ensemble_logits(logits, method, [2, 0, 1]), rtol=1e-5, atol=1e-5)
        again = EnsembleVote.from_config(layer.get_config())
        assert again.member_weights == [2, 0, 1]


def test_eval_and_ensemble_select_on_validation(tmp_path):
    a = fake_run(tmp_path, tiny_classifier(seed=1), name="a", val_split=0.1, seed=0)
    b = fake_run(tmp_path, tiny_classifier(seed=2), name="b", val_split=0.1, seed=0)
    code, report, out = cli_json("eval", a, b, "--ensemble", "vote", "--select", "--limit", 300, "--json")
    assert code == 0, out
    sel = report["selection"]
    assert sel["on"] == "val" and sum(sel["weights"].values()) >= 1 and 0 <= sel["accuracy"] <= 1
    # McNemar's counts against the best member add up to the accuracy gain, image for image
    n, best = report["num_examples"], report["best_member"]["accuracy"]
    assert sel["vs_best_member"]["net"] == round((sel["accuracy"] - best) * n)
    assert report["vs_best_member"]["net"] == round(report["gain_over_best_member"] * n)
    code, out = cli("eval", a, b, "--ensemble", "vote", "--select", "--limit", 300)
    assert code == 0 and "The selected vote fixes" in out and "z = " in out, out
    code, out = cli_json("ensemble", a, b, "--select", "--limit", 300, "--out", tmp_path / "ens.keras")[0::2]
    assert code == 0, out
    from zoo.run import load_model

    vote = load_model(tmp_path / "ens.keras").get_layer("vote")
    kept = [w for w in sel["weights"].values() if w]
    assert vote.member_weights == kept


def test_select_refuses_members_that_held_out_different_images(tmp_path):
    """A member carved with another seed trained on part of the first member's validation images:
    selection would reward it for remembering them. --split-seed 0 with --seed 1 keeps the carve."""
    a = fake_run(tmp_path, tiny_classifier(seed=1), name="a", val_split=0.1, seed=0)
    b = fake_run(tmp_path, tiny_classifier(seed=2), name="b", val_split=0.1, seed=1)
    code, out = cli("eval", a, b, "--ensemble", "vote", "--select", "--limit", 300)
    assert code != 0 and "same validation images" in out and "split seed 1" in out and "--split-seed" in out, out
    assert "Traceback" not in out
    c = fake_run(tmp_path, tiny_classifier(seed=2), name="c", val_split=0.1, seed=1, split_seed=0)
    code, report, out = cli_json("eval", a, c, "--ensemble", "vote", "--select", "--limit", 300, "--json")
    assert code == 0 and report["selection"]["on"] == "val", out


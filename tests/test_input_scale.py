"""Models the zoo did not make: --input-scale puts the missing scaling in front, softmax gives way to logits."""

import json

import keras
import numpy as np
import pytest
from kit import invoke, linear_classifier, pixels, save_image, tiny_classifier

from zoo.errors import UnknownNameError
from zoo.inputs import adapt_classifier, handles_its_own_scaling, logits_of, unwrap


def foreign(softmax=False, scaling=False, seed=0):
    """A plain Keras classifier on 8x8 grey inputs, as trained elsewhere: no scaling of its own
    unless ``scaling``, probabilities out when ``softmax``."""
    return tiny_classifier((8, 8, 1), 3, seed=seed, convs=((4, 1),), rescale=scaling, softmax=softmax)


PIXELS = pixels(5, (8, 8, 1))


def test_input_scale_1_feeds_the_model_pixels_over_255():
    model = foreign()
    wrapped, notes = adapt_classifier(model, "1")
    np.testing.assert_allclose(wrapped.predict(PIXELS, verbose=0), model.predict(PIXELS / 255, verbose=0),
                               rtol=1e-5, atol=1e-6)
    assert notes == []


def test_standardize_uses_the_given_statistics():
    model = foreign()
    mean, var = np.array([0.4]), np.array([0.04])
    wrapped, _ = adapt_classifier(model, "standardize", stats=lambda: (mean, var))
    want = model.predict((PIXELS / 255 - 0.4) / 0.2, verbose=0)
    np.testing.assert_allclose(wrapped.predict(PIXELS, verbose=0), want, rtol=1e-4, atol=1e-5)


def test_auto_says_when_the_model_does_not_declare_its_input():
    _, notes = adapt_classifier(foreign(), "auto", source="m.keras")
    assert any("does not say what input it expects" in n and "--input-scale" in n for n in notes)
    assert handles_its_own_scaling(foreign(scaling=True))
    assert adapt_classifier(foreign(scaling=True), "auto")[1] == []


def test_a_softmax_output_gives_way_to_its_logits():
    model = foreign(softmax=True)
    logits, was_softmax = logits_of(model)
    assert was_softmax
    z = logits.predict(PIXELS, verbose=0)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(keras.ops.softmax(z)), model.predict(PIXELS, verbose=0),
                               rtol=1e-5, atol=1e-6)
    assert logits_of(foreign())[1] is False


def test_gradcam_sees_the_inner_models_layers():
    from zoo.explain.explainer import Explainer

    wrapped, _ = adapt_classifier(foreign(), "1")
    inner, scaled = unwrap(wrapped)
    assert scaled is not None and "conv1" in [layer.name for layer in inner.layers]
    explainer = Explainer(wrapped, batch_size=4)
    maps = explainer.explain("gradcam", PIXELS, np.zeros(5, "int32"))
    assert maps.heatmaps.shape == (5, 8, 8) and maps.info["layer"] == "conv1"


def test_a_wrong_input_scale_is_refused():
    with pytest.raises(UnknownNameError, match="Unknown input scale"):
        adapt_classifier(foreign(), "0-1")


def test_predict_and_eval_take_input_scale(tmp_path):
    model = foreign(softmax=True)
    path = tmp_path / "m.keras"
    model.save(path)
    save_image(tmp_path / "a.png", np.full((8, 8), 120, np.uint8))
    result = invoke("predict", path, tmp_path / "a.png", "--input-scale", "1", "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout.strip().splitlines()[-1])
    want = model.predict(np.full((1, 8, 8, 1), 120 / 255, "float32"), verbose=0)[0]
    assert out["predictions"][0]["top"][0]["probability"] == pytest.approx(float(want.max()), rel=1e-4)
    assert any("softmax" in n for n in out["notes"])


def test_eval_notes_what_it_assumed(tmp_path):
    linear_classifier((28, 28, 1), 10, softmax=True).save(tmp_path / "m.keras")
    auto = invoke("eval", tmp_path / "m.keras", "--limit", "64", "--json")
    assert auto.exit_code == 0, auto.output
    note = json.loads(auto.stdout.strip().splitlines()[-1])["note"]
    assert "softmax" in note and "does not say what input it expects" in note
    given = invoke("eval", tmp_path / "m.keras", "--limit", "64", "--json", "--input-scale", "1")
    assert "does not say" not in json.loads(given.stdout.strip().splitlines()[-1])["note"]


def test_an_ensemble_of_zoo_models_needs_no_note():
    from zoo.ensemble import build_ensemble_model
    from zoo.registry import create_model

    members = [create_model("simplenet", input_shape=(28, 28, 1), num_classes=10) for _ in range(2)]
    assert handles_its_own_scaling(build_ensemble_model(members, "soft"))
    assert not handles_its_own_scaling(build_ensemble_model([foreign(), foreign(seed=3)], "soft"))

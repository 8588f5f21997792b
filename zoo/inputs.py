"""Input conventions of classifiers the zoo did not make: the pixel scale they expect, logits or softmax.

Every zoo pipeline feeds float32 pixels in [0, 255], and zoo's own models start with
``Rescaling(1/255)`` + ``Normalization``, so they take raw pixels. A plain ``.keras`` classifier
trained on inputs in [0, 1] or on standardized inputs would silently get the wrong scale.
``adapt_classifier`` puts the missing step in front of such a model (inside the graph, so
gradients, saliency and attack budgets stay in pixel units) and replaces a softmax output by the
logits before it (saliency and attacks need logits; probabilities are the softmax of them again).
"""

from __future__ import annotations

from zoo import checks
from zoo.errors import InvalidArgumentError

INPUT_SCALES = ("auto", "255", "1", "standardize")
SCALE_LAYER, STANDARDIZE_LAYER = "input_scale", "input_standardize"  # the wrapper's own layers


def check_input_scale(value: str) -> str:
    return checks.choice(str(value).strip(), "input_scale", INPUT_SCALES, what="input scale")


def handles_its_own_scaling(model) -> bool:
    """True when the model's first layer after its input is a Rescaling or Normalization.

    A model of sub-models (an ensemble made by ``zoo ensemble``) handles it when every member does.
    """
    import keras

    members = [layer for layer in model.layers if isinstance(layer, keras.Model)]
    if members and len(members) > 1:
        return all(handles_its_own_scaling(m) for m in members)
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        if isinstance(layer, keras.Model):
            return handles_its_own_scaling(layer)
        return isinstance(layer, (keras.layers.Rescaling, keras.layers.Normalization))
    return False


def logits_of(model):
    """(model giving logits, True) when ``model`` ends in a softmax; (model, False) otherwise."""
    import keras

    last = model.layers[-1]
    softmax = keras.activations.softmax
    if isinstance(last, keras.layers.Softmax) or (
            isinstance(last, keras.layers.Activation) and last.activation is softmax):
        return keras.Model(model.inputs, last.input, name=f"{model.name}_logits"), True
    if isinstance(last, keras.layers.Dense) and last.activation is softmax:
        linear = keras.layers.Dense(last.units, use_bias=last.use_bias, name=f"{last.name}_logits")
        out = linear(last.input)
        linear.set_weights(last.get_weights())
        return keras.Model(model.inputs, out, name=f"{model.name}_logits"), True
    return model, False


def pixel_range_problem(images) -> str | None:
    """What is wrong with ``images`` as raw pixels in [0, 255] (one phrase), or None when they may be pixels.

    Negative values cannot be pixels (standardized inputs); float images whose largest value is
    at most 1 (and not all zero) are almost surely pixels divided by 255.
    """
    import numpy as np

    x = np.asarray(images)
    if x.size == 0 or x.dtype.kind not in "fiu":
        return None
    lo, hi = float(np.nanmin(x)), float(np.nanmax(x))
    if lo < 0:
        return f"look standardized (values {lo:.3g} to {hi:.3g}, some negative)"
    if x.dtype.kind == "f" and 0 < hi <= 1.0:
        return f"look scaled to [0, 1] (values {lo:.3g} to {hi:.3g})"
    return None


def check_pixel_range(images, source: str = "the model") -> None:
    """Refuse images that look scaled to [0, 1] or standardized when ``source`` takes pixels in [0, 255].

    One line, the same from the CLI and from Python (``zoo.predict``, ``zoo.evaluate``,
    ``zoo.explain``, ``zoo.attack``, ``zoo.train``): zoo models rescale raw pixels themselves, so
    images divided by 255 would silently score near chance.
    """
    problem = pixel_range_problem(images)
    if problem is None:
        return
    fix = "multiply them by 255" if "[0, 1]" in problem else "pass the raw pixels before standardization"
    raise InvalidArgumentError(f"The images {problem}, but {source} takes raw pixels in [0, 255] and scales them "
                               f"itself: {fix}.")


def expects_pixels(model, input_scale: str = "auto") -> bool:
    """True when ``model`` (after ``adapt_classifier`` with ``input_scale``) takes raw pixels in [0, 255]."""
    return check_input_scale(input_scale) != "auto" or handles_its_own_scaling(model)


def adapt_classifier(model, input_scale: str = "auto", *, stats=None, source: str = "the model", images=None):
    """(model to feed [0, 255] pixels, notes to show): softmax replaced by logits, scaling put in front.

    ``input_scale``: ``255`` feeds pixels as they are; ``1`` divides by 255; ``standardize`` divides
    by 255 then standardizes with ``stats()`` -> (mean, variance) per channel (in pixel/255 units,
    as ``zoo.data.channel_stats`` gives them); ``auto`` is 255, with a note when the model does not
    start with its own Rescaling or Normalization layer. ``images`` (optional): what the model will
    be fed; refused in one line (``check_pixel_range``) when they look scaled to [0, 1] or
    standardized while the result takes raw pixels.
    """
    import keras

    scale = check_input_scale(input_scale)
    if images is not None and expects_pixels(model, scale):
        check_pixel_range(images, source)
    notes = []
    model, was_softmax = logits_of(model)
    if was_softmax:
        notes.append(f"{source} ends in a softmax: its logits (the input of that softmax) are used for "
                     "gradients, and probabilities are their softmax.")
    if scale == "auto":
        if not handles_its_own_scaling(model):
            notes.append(f"{source} does not say what input it expects (no Rescaling or Normalization layer "
                         "first), so it gets pixels in [0, 255]; pass --input-scale 1 or standardize if it was "
                         "trained on other inputs.")
        return model, notes
    if scale == "255":
        return model, notes
    inputs = keras.Input(tuple(model.inputs[0].shape[1:]), dtype="float32", name="image")
    x = keras.layers.Rescaling(1.0 / 255, name=SCALE_LAYER)(inputs)
    if scale == "standardize":
        if stats is None:
            raise InvalidArgumentError("--input-scale standardize needs images to measure the mean and variance of.")
        mean, variance = stats()
        x = keras.layers.Normalization(mean=list(map(float, mean)), variance=list(map(float, variance)),
                                       name=STANDARDIZE_LAYER)(x)
    wrapped = keras.Model(inputs, model(x), name=f"{model.name}_scaled")
    return wrapped, notes


def image_stats(images):
    """Per-channel (mean, variance) of (N, H, W, C) pixels in [0, 255], in pixel/255 units."""
    import numpy as np

    x = np.asarray(images, dtype="float64") / 255.0
    return x.mean(axis=(0, 1, 2)), x.var(axis=(0, 1, 2))


def unwrap(model):
    """(inner model, tensor its input comes from) for a model ``adapt_classifier`` wrapped, else (model, None).

    Grad-CAM looks up the layers of the inner model and weighs its feature maps; the scaling in
    front changes neither.
    """
    names = [layer.name for layer in model.layers]
    if SCALE_LAYER in names and len(model.layers) >= 3 and hasattr(model.layers[-1], "layers"):
        last_step = STANDARDIZE_LAYER if STANDARDIZE_LAYER in names else SCALE_LAYER
        return model.layers[-1], model.get_layer(last_step).output  # each used once: one output tensor
    return model, None

"""Weight EMA (``zoo train --ema DECAY``): Keras' optimizer EMA, with the averaged weights used to judge.

The optimizer keeps ``avg = d * avg + (1 - d) * w`` after every step (``use_ema``; ``d`` warms up to
the decay, see ``_update_with_warmup``); its
averages are optimizer variables, so they are in every backup and a resumed run continues them
exactly. ``model.fit`` copies them into the model when it ends, so the test metrics and
``model.keras`` are the averaged model's. During training two callbacks put the averages in the
model exactly where they are judged (validation, the best checkpoint) and take them out again
before anything that must see the raw weights (the next step, the epoch's backup):

    [..., EMAIn, best checkpoint, ..., EMAOut, history, backup]

Keras' own ``SwapEMAWeights(swap_on_epoch=True)`` keeps the averages in the model until the next
epoch begins, so an epoch backup written after it would hold the swapped pair and a resumed run
would train from the averages: that is why the swap is split in two here.
"""

from __future__ import annotations

import keras


class _Swap:
    """Which weights the model holds now; swapping exchanges model and average values."""

    def __init__(self):
        self.model = None
        self.averages_in = False

    def swap(self, want_averages: bool) -> None:
        if self.averages_in == want_averages:
            return
        optimizer = self.model.optimizer
        averages = getattr(optimizer, "_model_variables_moving_average", None)
        if not getattr(optimizer, "use_ema", False) or not averages:
            return  # not built yet (no step taken): nothing to swap
        for var, avg in zip(self.model.trainable_variables, averages):
            if avg is None:
                continue
            held = keras.ops.convert_to_numpy(var)
            var.assign(avg)
            avg.assign(held)
        self.averages_in = want_averages


class EMAIn(keras.callbacks.Callback):
    """Put the averaged weights in the model for validation and for the end-of-epoch judges."""

    def __init__(self, state: _Swap):
        super().__init__()
        self.state = state

    def set_model(self, model):
        super().set_model(model)
        self.state.model = model

    def on_test_begin(self, logs=None):
        self.state.swap(True)

    def on_epoch_end(self, epoch, logs=None):
        self.state.swap(True)


class EMAOut(keras.callbacks.Callback):
    """Give the model its raw weights back (after validation, before the history row and the backup)."""

    def __init__(self, state: _Swap):
        super().__init__()
        self.state = state

    def on_test_end(self, logs=None):
        self.state.swap(False)

    def on_epoch_end(self, epoch, logs=None):
        self.state.swap(False)

    def on_train_end(self, logs=None):
        self.state.swap(False)  # fit then copies the averages in itself (finalize_variable_values)


def _update_with_warmup(self, trainable_variables):
    """Keras' EMA update with TensorFlow's ``num_updates`` warmup: decay_t = min(decay, (1 + t) / (10 + t)).

    Keras averages with the full decay from the first step, so with 0.999 a 2-epoch run's average
    still holds ~40% of the random initial weights (0.999^844). The warmup (as in
    ``tf.train.ExponentialMovingAverage`` and timm's ModelEma) lets the average follow the weights
    early and settle to the asked decay after ~10 / (1 - decay) steps.
    """
    if not self.use_ema:
        return
    t = keras.ops.cast(self.iterations, "float32")
    decay = keras.ops.minimum(keras.ops.cast(self.ema_momentum, "float32"), (1.0 + t) / (10.0 + t))
    for var, average in zip(trainable_variables, self._model_variables_moving_average):
        if average is not None:
            d = keras.ops.cast(decay, var.dtype)
            average.assign(d * average + (1 - d) * var)


_WARM: dict = {}


def warm_ema_class(cls):
    """``cls`` (a Keras optimizer class) with the warmed-up EMA update; registered, so it saves and loads."""
    if cls not in _WARM:
        name = f"{cls.__name__}WarmEMA"
        warm = type(name, (cls,), {"_update_model_variables_moving_average": _update_with_warmup,
                                   "__doc__": f"{cls.__name__} whose weight EMA warms up (zoo/training/ema.py)."})
        _WARM[cls] = keras.saving.register_keras_serializable(package="zoo", name=name)(warm)
    return _WARM[cls]


def ema_callbacks() -> tuple[EMAIn, EMAOut]:
    state = _Swap()
    return EMAIn(state), EMAOut(state)

"""Optimizers by name, and weight decay as L2 (or decoupled, for AdamW)."""

from __future__ import annotations

from zoo.errors import UnknownNameError, close_matches_hint
from zoo.training.config import OPTIMIZERS


def make_optimizer(name: str, learning_rate, *, momentum: float = 0.9, weight_decay: float = 0.0,
                   ema: float | None = None):
    """A Keras optimizer. ``learning_rate`` is a float or a ``LearningRateSchedule``.

    ``weight_decay`` is decoupled only for ``adamw`` (Loshchilov & Hutter); for the others it is an
    L2 penalty added by ``add_l2_regularization`` (the textbook meaning of "weight decay" for SGD).
    """
    import keras

    # ``ema``: a moving average of the weights kept as optimizer variables (zoo/training/ema.py)
    e = {} if ema is None else {"use_ema": True, "ema_momentum": float(ema)}

    def opt(cls):
        if ema is None:
            return cls
        from zoo.training.ema import warm_ema_class

        return warm_ema_class(cls)

    o = keras.optimizers
    if name == "sgd":
        return opt(o.SGD)(learning_rate, **e)
    if name == "momentum":
        return opt(o.SGD)(learning_rate, momentum=momentum, **e)
    if name == "nesterov":
        return opt(o.SGD)(learning_rate, momentum=momentum, nesterov=True, **e)
    if name == "rmsprop":
        return opt(o.RMSprop)(learning_rate, rho=momentum, **e)
    if name == "adagrad":
        return opt(o.Adagrad)(learning_rate, **e)
    if name == "adam":
        return opt(o.Adam)(learning_rate, beta_1=0.9, beta_2=0.999, **e)
    if name == "adamw":
        return opt(o.AdamW)(learning_rate, weight_decay=weight_decay, beta_1=0.9, beta_2=0.999, **e)
    raise UnknownNameError(f"Unknown optimizer {name!r}." + close_matches_hint(name, OPTIMIZERS))


def add_l2_regularization(model, weight_decay: float) -> int:
    """Penalise ``weight_decay / 2 * ||W||^2`` for every conv/dense kernel; returns how many.

    The gradient of that penalty is ``weight_decay * W``: plain SGD then decays weights exactly by
    ``lr * weight_decay`` per step. Biases, BatchNorm and standardisation stay unregularised.
    """
    import keras

    if not weight_decay:
        return 0
    count = 0
    for layer in model._flatten_layers(include_self=False):
        for attr in ("kernel", "depthwise_kernel", "pointwise_kernel"):
            var = getattr(layer, attr, None)
            if var is None or not getattr(var, "trainable", False) or getattr(var, "regularizer", None) is not None:
                continue
            var.regularizer = keras.regularizers.L2(weight_decay / 2.0)
            count += 1
    return count


def make_training_optimizer(model, config, steps_per_epoch: int):
    """(optimizer on the configured LR schedule, the schedule's callbacks); attaches L2 to ``model``.

    Shared by the ``model.fit`` trainer and the multi-worker loop so both train the same way.
    """
    from zoo.training.schedules import make_learning_rate

    learning_rate, callbacks = make_learning_rate(config, steps_per_epoch)
    optimizer = make_optimizer(config.optimizer, learning_rate, momentum=config.momentum,
                               weight_decay=config.weight_decay, ema=getattr(config, "ema", None))
    if config.optimizer != "adamw":
        add_l2_regularization(model, config.weight_decay)
    return optimizer, callbacks

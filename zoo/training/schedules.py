"""Learning-rate decay: ``step``, ``exponential``, ``cosine`` (with warmup), ``plateau``, ``none``.

Built on ``keras.optimizers.schedules`` (a function of the optimizer's step counter, so a resumed
run continues the curve exactly) and ``keras.callbacks.ReduceLROnPlateau``. Conventions, with
``e`` the 0-based epoch and ``s`` the 0-based optimizer step, ``S`` steps per epoch:

- step:        lr0 * gamma ** floor(e / step_size)
- exponential: lr0 * exp(-k * t), t = e (``--decay-per epoch``) or t = s / S (``step``: smooth)
- cosine:      linear warmup 0 -> lr0 over ``warmup_epochs``, then cosine lr0 -> min_lr by the end
- onecycle:    linear warmup 0 -> lr0 over ``warmup_epochs`` (default: a quarter of the run), then
               linear lr0 -> min_lr (default 0) by the last step: the shape of the speed records
               (Smith's one-cycle as airbench and Page use it), per step
- plateau:     lr multiplied by gamma after ``plateau_patience`` epochs without val_loss progress
"""

from __future__ import annotations

import math

import keras

from zoo.errors import UnknownNameError, close_matches_hint
from zoo.training.config import SCHEDULES


@keras.saving.register_keras_serializable(package="zoo")
class EpochStaircase(keras.optimizers.schedules.LearningRateSchedule):
    """Hold ``inner``'s value constant within an epoch: lr(s) = inner(floor(s / S) * S).

    Steps before ``smooth_until`` (a warmup) follow ``inner`` step by step: held at an epoch's
    start, a warmup from 0 would train its whole first epoch at learning rate 0.
    """

    def __init__(self, inner, steps_per_epoch: int, smooth_until: int = 0):
        self.inner = inner
        self.steps_per_epoch = int(steps_per_epoch)
        self.smooth_until = int(smooth_until)

    def __call__(self, step):
        step = keras.ops.cast(step, "float32")
        spe = keras.ops.cast(self.steps_per_epoch, "float32")
        epoch_start = keras.ops.floor(step / spe) * spe
        held = keras.ops.maximum(epoch_start, keras.ops.cast(self.smooth_until, "float32"))
        return self.inner(keras.ops.where(step < self.smooth_until, step, held))

    def get_config(self):
        return {"inner": keras.optimizers.schedules.serialize(self.inner),
                "steps_per_epoch": self.steps_per_epoch, "smooth_until": self.smooth_until}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["inner"] = keras.optimizers.schedules.deserialize(config["inner"])
        return cls(**config)


@keras.saving.register_keras_serializable(package="zoo")
class OneCycle(keras.optimizers.schedules.LearningRateSchedule):
    """lr(s) = peak * s / W for s < W, then linear from peak to ``final`` at step T (held after)."""

    def __init__(self, peak: float, total_steps: int, warmup_steps: int, final: float = 0.0):
        self.peak = float(peak)
        self.total_steps = max(1, int(total_steps))
        self.warmup_steps = min(max(0, int(warmup_steps)), self.total_steps - 1)
        self.final = float(final)

    def __call__(self, step):
        s = keras.ops.cast(step, "float32")
        w = float(max(self.warmup_steps, 1))
        up = self.peak * s / w
        frac = keras.ops.clip((s - self.warmup_steps) / float(self.total_steps - self.warmup_steps), 0.0, 1.0)
        down = self.peak + (self.final - self.peak) * frac
        return keras.ops.where(s < self.warmup_steps, up, down)

    def get_config(self):
        return {"peak": self.peak, "total_steps": self.total_steps, "warmup_steps": self.warmup_steps,
                "final": self.final}


def make_learning_rate(config, steps_per_epoch: int):
    """(learning_rate for the optimizer: float or schedule, extra Keras callbacks)."""
    name = config.schedule
    lr0 = float(config.lr)
    spe = max(1, int(steps_per_epoch))
    schedules = keras.optimizers.schedules
    if name == "none":
        return lr0, []
    if name == "plateau":
        cb = keras.callbacks.ReduceLROnPlateau(
            monitor="val_loss", factor=config.gamma, patience=config.plateau_patience,
            min_lr=config.min_lr, verbose=0)
        return lr0, [cb]
    if name == "step":
        step_size = config.step_size or max(1, config.epochs // 3)
        return schedules.ExponentialDecay(lr0, decay_steps=step_size * spe, decay_rate=config.gamma,
                                          staircase=True, name="step_decay"), []
    if name == "exponential":
        inner = schedules.ExponentialDecay(lr0, decay_steps=spe, decay_rate=math.exp(-config.decay_rate),
                                           staircase=config.decay_per == "epoch", name="exponential_decay")
        return inner, []
    if name == "cosine":
        warmup = int(round(config.warmup_epochs * spe))
        total = config.epochs * spe
        decay_steps = max(1, total - warmup)
        alpha = config.min_lr / lr0
        if warmup > 0:
            sched = schedules.CosineDecay(0.0, decay_steps, alpha=alpha, warmup_target=lr0,
                                          warmup_steps=warmup, name="cosine_decay")
        else:
            sched = schedules.CosineDecay(lr0, decay_steps, alpha=alpha, name="cosine_decay")
        return (EpochStaircase(sched, spe, smooth_until=warmup) if config.decay_per == "epoch" else sched), []
    if name == "onecycle":
        total = config.epochs * spe
        sched = OneCycle(lr0, total, int(round(config.warmup_epochs * spe)), final=config.min_lr)
        return (EpochStaircase(sched, spe, smooth_until=sched.warmup_steps) if config.decay_per == "epoch"
                else sched), []
    raise UnknownNameError(f"Unknown schedule {name!r}." + close_matches_hint(name, SCHEDULES))


def learning_rate_at(learning_rate, step: int) -> float:
    """The value a float or schedule gives at optimizer step ``step``."""
    if callable(learning_rate):
        return float(keras.ops.convert_to_numpy(learning_rate(step)))
    return float(learning_rate)

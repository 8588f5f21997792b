"""Exact learning rates of every --schedule at given epochs/steps."""

import math

import keras
import pytest
from kit import resolved_config

from zoo.errors import InvalidArgumentError, UnknownNameError
from zoo.training.schedules import learning_rate_at, make_learning_rate

SPE = 10  # steps per epoch


def _lr(**kw):
    cfg = resolved_config("simplenet", **kw)
    lr, callbacks = make_learning_rate(cfg, SPE)
    return cfg, lr, callbacks


def test_none_is_constant():
    _, lr, cbs = _lr(schedule="none", lr=0.01, epochs=3)
    assert lr == 0.01 and cbs == []


@pytest.mark.parametrize("step, expected", [(0, 0.1), (19, 0.1), (20, 0.05), (39, 0.05), (40, 0.025), (59, 0.025)])
def test_step_multiplies_by_gamma_every_step_size_epochs(step, expected):
    _, lr, _ = _lr(schedule="step", lr=0.1, gamma=0.5, step_size=2, epochs=6)
    assert learning_rate_at(lr, step) == pytest.approx(expected, rel=1e-6)


def test_step_size_defaults_to_a_third_of_the_epochs():
    cfg, lr, _ = _lr(schedule="step", lr=1.0, gamma=0.1, epochs=9)
    assert learning_rate_at(lr, 3 * SPE - 1) == pytest.approx(1.0)
    assert learning_rate_at(lr, 3 * SPE) == pytest.approx(0.1, rel=1e-6)
    assert learning_rate_at(lr, 6 * SPE) == pytest.approx(0.01, rel=1e-6)


@pytest.mark.parametrize("epoch", [0, 1, 2, 5])
def test_exponential_per_epoch_is_constant_within_an_epoch(epoch):
    _, lr, _ = _lr(schedule="exponential", lr=0.2, decay_rate=0.3, epochs=6)
    expected = 0.2 * math.exp(-0.3 * epoch)
    for step in (epoch * SPE, epoch * SPE + 5, epoch * SPE + SPE - 1):
        assert learning_rate_at(lr, step) == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("step", [0, 1, 7, 10, 33])
def test_exponential_per_step_is_smooth_in_fractional_epochs(step):
    _, lr, _ = _lr(schedule="exponential", lr=0.2, decay_rate=0.3, decay_per="step", epochs=6)
    assert learning_rate_at(lr, step) == pytest.approx(0.2 * math.exp(-0.3 * step / SPE), rel=1e-6)


def test_cosine_with_warmup_exact_values():
    cfg, lr, _ = _lr(schedule="cosine", lr=0.4, warmup_epochs=1, epochs=5)
    assert cfg.decay_per == "step"
    warm, total = SPE, 5 * SPE
    for s in (0, 3, 9):
        assert learning_rate_at(lr, s) == pytest.approx(0.4 * s / warm, abs=1e-7)
    for s in (10, 20, 30, 45, 50):
        frac = (s - warm) / (total - warm)
        assert learning_rate_at(lr, s) == pytest.approx(0.4 * 0.5 * (1 + math.cos(math.pi * frac)), abs=1e-6)
    assert learning_rate_at(lr, 1000) == pytest.approx(0.0, abs=1e-7)  # stays at the floor after the end


def test_cosine_without_warmup_and_with_floor_per_epoch():
    _, lr, _ = _lr(schedule="cosine", lr=1.0, warmup_epochs=0, min_lr=0.1, decay_per="epoch", epochs=4)
    for epoch in range(4):
        expected = 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * epoch / 4))
        assert learning_rate_at(lr, epoch * SPE + 7) == pytest.approx(expected, rel=1e-6)


def test_plateau_is_a_callback_with_gamma_and_patience():
    _, lr, cbs = _lr(schedule="plateau", lr=0.01, gamma=0.5, plateau_patience=3)
    assert lr == 0.01
    (cb,) = cbs
    assert isinstance(cb, keras.callbacks.ReduceLROnPlateau)
    assert cb.factor == 0.5 and cb.patience == 3 and cb.monitor == "val_loss"


def test_schedule_serialises_with_the_optimizer():
    from zoo.training.optimizers import make_optimizer

    _, lr, _ = _lr(schedule="cosine", lr=0.4, decay_per="epoch", epochs=5)
    opt = make_optimizer("momentum", lr)
    again = keras.optimizers.deserialize(keras.optimizers.serialize(opt))
    assert learning_rate_at(again._learning_rate, 23) == pytest.approx(learning_rate_at(lr, 23))


@pytest.mark.parametrize("bad, option, hint", [
    ({"schedule": "cosin"}, "--schedule", "Did you mean: cosine"),
    ({"schedule": "warmup"}, "--schedule", "Choose one of"),
    ({"optimizer": "adamm"}, "--optimizer", "Did you mean: adam"),
    ({"decay_per": "batch"}, "--decay-per", "epoch"),
])
def test_unknown_names_list_close_matches(bad, option, hint):
    from zoo.cli.common import flag_of

    with pytest.raises(UnknownNameError) as info:
        resolved_config("simplenet", **bad)
    shown = info.value.worded(flag_of(info.value.param))  # what the CLI prints
    assert option in shown and hint in shown


@pytest.mark.parametrize("bad, text", [
    ({"lr": 0.0}, "--lr"), ({"lr": -1e-3}, "--lr"), ({"epochs": 0}, "--epochs"), ({"batch_size": -4}, "--batch-size"),
    ({"gamma": 1.5}, "--gamma"), ({"min_lr": 1.0, "lr": 0.1}, "--min-lr"), ({"val_split": 1.0}, "--val-split"),
])
def test_impossible_values_are_refused(bad, text):
    from zoo.cli.common import flag_of

    with pytest.raises(InvalidArgumentError) as info:
        resolved_config("simplenet", **bad)
    assert info.value.worded(flag_of(info.value.param)).startswith(text + " ")  # what the CLI prints


def test_cosine_warmup_per_epoch_ramps_by_step_then_holds_each_epoch():
    # Holding the warmup at its epoch start would train the whole first epoch at LR 0.
    _, lr, _ = _lr(schedule="cosine", lr=0.4, warmup_epochs=1, decay_per="epoch", epochs=5)
    warm, total = SPE, 5 * SPE
    for s in (1, 5, 9):
        assert learning_rate_at(lr, s) == pytest.approx(0.4 * s / warm, abs=1e-7)
    for epoch in (1, 2, 4):
        frac = (epoch * SPE - warm) / (total - warm)
        expected = 0.4 * 0.5 * (1 + math.cos(math.pi * frac))
        for s in (epoch * SPE, epoch * SPE + 7):
            assert learning_rate_at(lr, s) == pytest.approx(expected, abs=1e-6)


def test_onecycle_warms_up_a_quarter_then_falls_linearly_to_min_lr():
    cfg, lr, cbs = _lr(schedule="onecycle", lr=0.4, epochs=8)
    assert cfg.decay_per == "step" and cfg.warmup_epochs == 2 and cbs == []
    warm, total = 2 * SPE, 8 * SPE
    for s in (0, 5, 19):
        assert learning_rate_at(lr, s) == pytest.approx(0.4 * s / warm, abs=1e-7)
    for s in (20, 35, 60, 79, 80):
        assert learning_rate_at(lr, s) == pytest.approx(0.4 * (1 - (s - warm) / (total - warm)), abs=1e-7)
    assert learning_rate_at(lr, 500) == pytest.approx(0.0, abs=1e-9)  # held at the floor past the end


def test_onecycle_takes_warmup_and_floor_when_given():
    _, lr, _ = _lr(schedule="onecycle", lr=0.1, epochs=4, warmup_epochs=1, min_lr=0.01)
    assert learning_rate_at(lr, SPE) == pytest.approx(0.1, rel=1e-6)
    assert learning_rate_at(lr, 4 * SPE) == pytest.approx(0.01, rel=1e-6)


def test_onecycle_schedule_survives_saving():
    from zoo.training.schedules import OneCycle

    sched = OneCycle(0.3, 100, 25, final=0.001)
    again = keras.optimizers.schedules.deserialize(keras.optimizers.schedules.serialize(sched))
    for s in (0, 10, 25, 60, 100):
        assert learning_rate_at(again, s) == pytest.approx(learning_rate_at(sched, s), rel=1e-7)

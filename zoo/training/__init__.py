"""Training: config, optimizers, LR schedules, callbacks, the trainer and distribution.

``from zoo.training import TrainConfig, train`` is the whole API most callers need.
"""

from zoo.training.config import TrainConfig, resolve


def train(config, **kwargs):
    """See ``zoo.training.trainer.train`` (imported lazily: it pulls in TensorFlow)."""
    from zoo.training.trainer import train as _train

    return _train(config, **kwargs)


__all__ = ["TrainConfig", "resolve", "train"]

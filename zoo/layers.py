"""The zoo's own Keras layers that saved models hold: ensembles (``EnsembleVote``) and transfers
across input shapes (``MatchInput``). ``zoo.run.load_model`` imports this module so any saved
model with them loads; the voting rule itself is explained in ``zoo.ensemble``.
"""

from __future__ import annotations

import keras
from keras import layers, ops

from zoo import checks

METHODS = ("vote", "soft")
TIE_WEIGHT = 0.5  # < 1, so summed probabilities only ever break ties between equal vote counts
LOG_FLOOR = 1e-30  # keeps log() finite when a class gets no vote and a vanishing probability


def check_method(method: str) -> str:
    """'vote' (hard max-voting) or 'soft' (average the members' probabilities)."""
    return checks.choice(str(method).strip(), "method", METHODS, what="ensemble method")


@keras.saving.register_keras_serializable(package="zoo")
class MatchInput(layers.Layer):
    """Resize an image batch to (height, width) and convert 1 <-> 3 channels (pixels stay in [0, 255])."""

    def __init__(self, height: int, width: int, channels: int, **kwargs):
        super().__init__(**kwargs)
        self.height, self.width, self.channels = int(height), int(width), int(channels)

    def call(self, x):
        if x.shape[1] != self.height or x.shape[2] != self.width:
            x = ops.image.resize(x, (self.height, self.width), interpolation="bilinear")
        c = x.shape[-1]
        if c == 1 and self.channels == 3:
            x = ops.repeat(x, 3, axis=-1)
        elif c == 3 and self.channels == 1:
            # ITU-R 601 luma, the usual grayscale conversion
            x = ops.sum(x * ops.convert_to_tensor([0.299, 0.587, 0.114], dtype=x.dtype), axis=-1, keepdims=True)
        return x

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.height, self.width, self.channels)

    def get_config(self):
        return super().get_config() | {"height": self.height, "width": self.width, "channels": self.channels}


@keras.saving.register_keras_serializable(package="zoo")
class EnsembleVote(layers.Layer):
    """Members' logits (a list) -> the ensemble's log vote shares ('vote') or log mean probability ('soft')."""

    def __init__(self, method: str = "vote", weights=None, **kwargs):
        super().__init__(**kwargs)
        self.method = check_method(method)
        # votes per member (ensemble selection repeats members); None: one each
        self.member_weights = None if weights is None else [int(w) for w in weights]

    def call(self, member_logits):
        probs = ops.stack([ops.softmax(z, axis=-1) for z in member_logits], axis=0)
        w = [1] * len(member_logits) if self.member_weights is None else self.member_weights
        share = ops.reshape(ops.convert_to_tensor([float(v) for v in w], dtype=probs.dtype), (-1, 1, 1))
        m = float(sum(w))
        mean_prob = ops.sum(probs * share, axis=0) / m
        if self.method == "soft":
            scores = mean_prob
        else:
            k = probs.shape[-1]
            counts = ops.sum(ops.one_hot(ops.argmax(probs, axis=-1), k, dtype=probs.dtype) * share, axis=0)
            scores = (ops.stop_gradient(counts) + TIE_WEIGHT * mean_prob) / (m + TIE_WEIGHT)
        return ops.log(ops.maximum(scores, LOG_FLOOR))

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[0])

    def get_config(self):
        return super().get_config() | {"method": self.method, "weights": self.member_weights}

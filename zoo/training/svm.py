"""The linear SVM head's loss: the multiclass hinge (Weston-Watkins / cs231n form) on logits."""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

SVM_MARGIN = 1.0


@keras.saving.register_keras_serializable(package="zoo")
class MulticlassHinge(keras.losses.Loss):
    """Weston-Watkins multiclass hinge: sum over j != y of max(0, s_j - s_y + margin).

    Takes integer labels (like SparseCategoricalCrossentropy) and raw scores. The L2 term of the
    SVM objective lives on the head's ``kernel_regularizer``.
    """

    def __init__(self, margin: float = SVM_MARGIN, name: str = "multiclass_hinge", **kwargs):
        super().__init__(name=name, **kwargs)
        self.margin = float(margin)

    def call(self, y_true, y_pred):
        k = ops.shape(y_pred)[-1]
        labels = ops.cast(ops.reshape(y_true, (-1,)), "int32")
        onehot = ops.one_hot(labels, k, dtype=y_pred.dtype)
        correct = ops.sum(y_pred * onehot, axis=-1, keepdims=True)
        margins = ops.relu(y_pred - correct + self.margin) * (1.0 - onehot)
        return ops.sum(margins, axis=-1)

    def get_config(self):
        return super().get_config() | {"margin": self.margin}


def multiclass_hinge(labels, scores, margin: float = SVM_MARGIN) -> np.ndarray:
    """The same loss in numpy, per example (for reports and tests)."""
    scores = np.asarray(scores, dtype="float64")
    labels = np.asarray(labels).astype(int).reshape(-1)
    correct = scores[np.arange(len(labels)), labels][:, None]
    margins = np.maximum(0.0, scores - correct + margin)
    margins[np.arange(len(labels)), labels] = 0.0
    return margins.sum(axis=1)



"""Losses the trainer needs beyond Keras' own."""

from __future__ import annotations

import keras


@keras.saving.register_keras_serializable(package="zoo")
class SparseSmoothedCrossentropy(keras.losses.Loss):
    """Cross-entropy from logits with integer labels and label smoothing.

    Keras' ``SparseCategoricalCrossentropy`` has no ``label_smoothing``; this one-hot encodes the
    labels and uses ``categorical_crossentropy``, so the pipeline keeps its integer labels.
    """

    def __init__(self, label_smoothing: float = 0.0, num_classes: int = 2, name="smoothed_crossentropy", **kwargs):
        super().__init__(name=name, **kwargs)
        self.label_smoothing = float(label_smoothing)
        self.num_classes = int(num_classes)

    def call(self, y_true, y_pred):
        labels = keras.ops.reshape(keras.ops.cast(y_true, "int32"), (-1,))
        return keras.losses.categorical_crossentropy(
            keras.ops.one_hot(labels, self.num_classes), y_pred, from_logits=True,
            label_smoothing=self.label_smoothing)

    def get_config(self):
        return {**super().get_config(), "label_smoothing": self.label_smoothing, "num_classes": self.num_classes}

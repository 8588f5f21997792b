"""Parameter and FLOP counts of registry models, measured on the built graph.

FLOPs are counted by TensorFlow's profiler (``float_operation``: a multiply-add is 2 FLOPs) on
the graph of one forward pass at batch 1 in inference mode. Models are analysed without
allocating their weights (Keras variables created in a ``StatelessScope`` stay uninitialised and
the forward pass reads placeholders instead), so even VGG-19 is counted in a fraction of a second.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf

from zoo.registry import MODELS, check_input_shape, create_model


@dataclass(frozen=True)
class ModelStats:
    name: str
    input_shape: tuple[int, int, int]
    num_classes: int
    trainable_params: int
    non_trainable_params: int
    flops: int  # forward pass, one image, inference mode

    @property
    def params(self) -> int:
        return self.trainable_params + self.non_trainable_params


@contextmanager
def weightless():
    """Build Keras models inside this block without allocating or initialising their weights.

    Such models can be counted and traced (``count_flops``) but not run or trained.
    """
    from keras.src.backend.common import global_state  # noqa: the list of deferred variables

    pending = list(global_state.get_global_attribute("uninitialized_variables", []) or [])
    try:
        with keras.StatelessScope(initialize_variables=False):
            yield
    finally:
        # Keras would initialise every deferred variable at the next StatelessScope exit
        # (allocating gigabytes for VGG); these models never need values, so forget them.
        global_state.set_global_attribute("uninitialized_variables", pending)


def count_params(model) -> tuple[int, int]:
    """(trainable, non-trainable) parameter counts, from variable shapes."""

    def total(variables):
        return int(sum(int(np.prod(v.shape)) for v in variables))

    return total(model.trainable_variables), total(model.non_trainable_variables)


def count_flops(model) -> int:
    """FLOPs of one forward pass of ``model`` on one image (inference mode), by the TF profiler."""
    from tensorflow.python.profiler import option_builder

    def spec(v):
        return tf.TensorSpec(v.shape, v.dtype)

    trainable = [spec(v) for v in model.trainable_variables]
    non_trainable = [spec(v) for v in model.non_trainable_variables]
    image = tf.TensorSpec((1, *model.inputs[0].shape[1:]), model.inputs[0].dtype)

    @tf.function(autograph=False)
    def forward(trainable, non_trainable, image):
        # the weights are graph inputs, so tracing never reads (or needs) their values
        outputs, _ = model.stateless_call(trainable, non_trainable, image, training=False)
        return outputs

    graph = forward.get_concrete_function(trainable, non_trainable, image).graph
    options = option_builder.ProfileOptionBuilder.float_operation()
    options["output"] = "none"
    logger = tf.get_logger()
    level = logger.level
    logger.setLevel("ERROR")  # the v1 profiler warns about its own deprecated internals
    try:
        return int(tf.compat.v1.profiler.profile(graph=graph, options=options).total_float_ops)
    finally:
        logger.setLevel(level)


def model_stats(name: str, input_shape=None, num_classes: int | None = None, **overrides) -> ModelStats:
    """Params and FLOPs of a registry model (defaults: its registered input shape and classes)."""
    spec = MODELS.get(name)
    shape = check_input_shape(spec.input_shape if input_shape is None else input_shape)
    classes = spec.num_classes if num_classes is None else num_classes
    with weightless():
        model = create_model(name, input_shape=shape, num_classes=classes, **overrides)
    trainable, non_trainable = count_params(model)
    return ModelStats(name, shape, classes, trainable, non_trainable, count_flops(model))


def weightless_model(name: str, input_shape=None, num_classes: int | None = None, **overrides):
    """A registry model with unallocated weights: for summaries and counts, not for running."""
    with weightless():
        return create_model(name, input_shape=input_shape, num_classes=num_classes, **overrides)

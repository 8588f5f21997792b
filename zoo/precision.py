"""Precision is a training choice, not a property of the deliverable.

A run trained under ``mixed_bfloat16`` (the default on CPUs with AVX512_BF16 or AMX, and on
recent GPUs) saves layers whose compute dtype is bfloat16 over float32 variables. Exporters
choke on the mixed graph (TFLite's Select ops, ONNX's type clashes), and gradients computed in
bf16 move saliency maps by ~10% and flip signs. So every model a command loads is rebuilt under
a float32 policy with the same (float32) variables, as Keras recommends for serving a
mixed-precision model: same weights, float32 arithmetic.
"""

from __future__ import annotations

FLOAT32 = "float32"


def model_precision(model) -> str:
    """The model's policy name: "float32", "mixed_bfloat16", "mixed_float16" (the first non-float32 layer's)."""
    for layer in _layers(model):
        name = getattr(getattr(layer, "dtype_policy", None), "name", FLOAT32)
        if name != FLOAT32:
            return name
    return FLOAT32


def float32_copy(model):
    """``model`` itself if it computes in float32, else an equal model rebuilt under float32.

    The config is rewritten (every layer's dtype policy -> float32), rebuilt, and given the
    original's variables, which mixed precision keeps in float32: no value is rounded.
    """
    if model_precision(model) == FLOAT32:
        return model
    import keras

    config = _to_float32(keras.saving.serialize_keras_object(model))
    from zoo.surgery import copy_weights

    with _global_policy(FLOAT32):  # layers without a dtype of their own (the input) follow it
        copy = keras.saving.deserialize_keras_object(config)
    return copy_weights(model, copy)


def _to_float32(node):
    """The serialized config with every dtype policy and bfloat16/float16 tensor dtype made float32."""
    if isinstance(node, dict):
        if node.get("class_name") in ("DTypePolicy", "FloatDTypePolicy") and isinstance(node.get("config"), dict):
            return {**node, "config": {**node["config"], "name": FLOAT32}}
        return {k: (FLOAT32 if k == "dtype" and v in ("bfloat16", "float16", "mixed_bfloat16", "mixed_float16")
                    else _to_float32(v)) for k, v in node.items()}
    if isinstance(node, list):
        return [_to_float32(v) for v in node]
    return node


def _layers(model):
    for layer in getattr(model, "layers", []):
        yield layer
        if hasattr(layer, "layers"):  # ensembles hold their members as sub-models
            yield from _layers(layer)


class _global_policy:
    """Set, then restore, Keras' global dtype policy."""

    def __init__(self, name):
        self.name = name

    def __enter__(self):
        import keras

        self.saved = keras.mixed_precision.global_policy()
        keras.mixed_precision.set_global_policy(self.name)

    def __exit__(self, *exc):
        import keras

        keras.mixed_precision.set_global_policy(self.saved)

"""Which Keras 3 backend runs, and the one compiled form of a function per backend.

``KERAS_BACKEND=tensorflow|jax|torch`` (Keras' own switch, read when Keras is first imported)
chooses the backend; ``name()`` says which one runs. ``compiled(fn, model=...)`` is the zoo's one
way to compile a function of tensors that calls a model: ``tf.function`` on TensorFlow (with an
input signature where the caller gives one, so it is traced once), ``jax.jit`` on JAX (the model's
variables passed in as arguments through ``keras.StatelessScope``, so re-assigned weights are
picked up without re-tracing, as with ``tf.function``) and the plain function on PyTorch (eager
autograd; ``torch.compile`` has not been measured to pay here). Inputs may be NumPy arrays; outputs
are the backend's tensors (``to_numpy`` turns them into arrays).
"""

from __future__ import annotations

import contextlib
import weakref

BACKENDS = ("tensorflow", "jax", "torch")


def name() -> str:
    """The Keras backend that runs: "tensorflow", "jax" or "torch" (imports Keras)."""
    import keras

    return keras.backend.backend()


def configured() -> str:
    """The backend Keras runs or will run, without importing Keras when it is not loaded yet (``zoo
    info`` stays TensorFlow-free): KERAS_BACKEND, else keras.json's "backend", else "tensorflow"
    (Keras' own order)."""
    import json
    import os
    import sys

    if "keras" in sys.modules:
        return name()
    if os.environ.get("KERAS_BACKEND"):
        return os.environ["KERAS_BACKEND"]  # checked by check_configured before Keras reads it
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    try:
        with open(os.path.join(home, "keras.json")) as f:
            return str(json.load(f).get("backend") or "tensorflow")
    except (OSError, ValueError, AttributeError):
        return "tensorflow"




def check_configured() -> None:
    """Refuse an unknown KERAS_BACKEND in one line before Keras fails on it with a traceback."""
    import os

    asked = os.environ.get("KERAS_BACKEND")
    if asked and asked not in (*BACKENDS, "numpy"):
        from zoo.errors import InvalidArgumentError

        raise InvalidArgumentError(f"KERAS_BACKEND={asked!r} is not a Keras backend: set it to "
                                   f"{', '.join(BACKENDS)} (or unset it for TensorFlow).")


def to_numpy(x):
    """A backend tensor (or a nest of them) as NumPy."""
    from keras import ops

    if isinstance(x, (tuple, list)):
        return type(x)(to_numpy(v) for v in x)
    return ops.convert_to_numpy(x)


def compiled(fn, *, model=None, signature=None, inference: bool = False):
    """``fn`` compiled for the running backend.

    ``model``: the Keras model ``fn`` calls (held weakly; on JAX its variables become arguments of
    the compiled function). ``signature``: TensorFlow's input signature as ``(shape, dtype)`` pairs
    (``None`` for a free dimension), so one trace serves every batch size; the other backends
    specialise on shapes themselves. ``inference``: ``fn`` takes no gradient, so PyTorch records no
    autograd graph for it (``torch.no_grad``).
    """
    backend = name()
    if backend == "tensorflow":
        import tensorflow as tf

        if signature is None:
            return tf.function(fn, reduce_retracing=True)
        return tf.function(fn, input_signature=[tf.TensorSpec(shape, dtype) for shape, dtype in signature])
    if backend == "jax":
        return _jax_compiled(fn, model)
    return _torch_eager(fn, inference)


def _torch_eager(fn, inference: bool = False):
    """PyTorch: the function itself, eager (``torch.compile`` has not been measured to pay here), with
    NumPy arguments made tensors so Keras ops see one kind of value; Python numbers stay numbers."""
    import numpy as np
    from keras import ops

    import torch

    def call(*args):
        with torch.no_grad() if inference else contextlib.nullcontext():
            return fn(*(ops.convert_to_tensor(a) if isinstance(a, (np.ndarray, np.generic)) else a for a in args))

    return call


def _jax_compiled(fn, model):
    import jax

    if model is None:
        return jax.jit(fn)
    import keras

    ref = weakref.ref(model)  # the compiled function must not keep the model alive

    def pure(values, *args):
        with keras.StatelessScope(state_mapping=list(zip(ref().variables, values))):
            return fn(*args)

    jitted = jax.jit(pure)

    def call(*args):
        return jitted([v.value for v in ref().variables], *args)

    return call


def map_sequential(f, xs):
    """``stack([f(x) for x in xs])`` (``f`` may return a tuple), one element at a time, so memory
    stays that of one call: ``tf.map_fn`` with ``parallel_iterations=1`` on TensorFlow,
    ``keras.ops.map`` (a scan on JAX, a loop on PyTorch) elsewhere."""
    if name() == "tensorflow":
        import tensorflow as tf

        first = f(xs[0])
        signature = tuple(tf.TensorSpec.from_tensor(t) for t in first) if isinstance(first, tuple) \
            else tf.TensorSpec.from_tensor(first)
        return tf.map_fn(f, xs, fn_output_signature=signature, parallel_iterations=1)
    from keras import ops

    return ops.map(f, xs)

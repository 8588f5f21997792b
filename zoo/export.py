"""Export a trained model for deployment, then prove the export computes what the Keras model does.

Formats (Keras 3's ``model.export`` for all three):

* ``savedmodel``: a TensorFlow SavedModel directory (``serve`` endpoint), for TF Serving and TF.js;
* ``tflite``: a LiteRT / TensorFlow Lite flat buffer, for phones and microcontrollers;
* ``onnx``: an ONNX file through tf2onnx (``pip install tf2onnx onnxruntime``), for ONNX Runtime;
  on the PyTorch backend through ``torch.onnx`` (no TensorFlow needed).

SavedModel and TFLite are TensorFlow formats: they need TensorFlow installed (on JAX, Keras converts
through jax2tf), and the PyTorch backend exports ONNX only; asking otherwise says so before anything
is loaded.

Every export is written next to its target and renamed into place only after it has been
reloaded (TF SavedModel loader, the TFLite interpreter, onnxruntime) and its logits compared with
the Keras model's on a few images, so a failed or wrong export leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from zoo.errors import InvalidArgumentError, ModelFileError, UnknownNameError, close_matches_hint

FORMATS = {"savedmodel": "", "tflite": ".tflite", "onnx": ".onnx"}  # format -> file suffix
ALIASES = {"saved_model": "savedmodel", "tf_saved_model": "savedmodel", "litert": "tflite"}
CHECK_IMAGES = 8
# float32 kernels differ between runtimes (fused ops, other summation orders): a few 1e-6 of
# the logits' scale is normal; 1e-3 of it would mean a different computation.
TOLERANCE = 1e-3


@dataclass
class ExportResult:
    format: str
    path: str
    bytes: int
    images_checked: int
    max_abs_diff: float  # largest |export logits - Keras logits| over the check images
    logit_scale: float  # largest |Keras logit|, for reading the difference

    def to_dict(self) -> dict:
        return dict(self.__dict__)

    def predict(self, images) -> np.ndarray:
        """Logits of the exported file on ``images`` (N, H, W, C pixels in [0, 255]), run by its own runtime
        (TF SavedModel loader, the TFLite interpreter or onnxruntime), not by Keras.

            >>> result = zoo.export("simplenet", "tflite", "exports/simplenet.tflite", overwrite=True)  # doctest: +SKIP
            >>> result.predict(x[:8]).argmax(1)                                                          # doctest: +SKIP
        """
        return np.asarray(RUNNERS[self.format](self.path, np.asarray(images, dtype="float32")))


def check_format(fmt: str) -> str:
    f = ALIASES.get(str(fmt).lower(), str(fmt).lower())
    if f not in FORMATS:
        raise UnknownNameError(f"Unknown export format {fmt!r}." + close_matches_hint(str(fmt), FORMATS))
    return f


def is_model(value) -> bool:
    """True for an in-memory Keras model (checked without importing Keras for paths and names)."""
    return not isinstance(value, (str, os.PathLike)) and hasattr(value, "export") and hasattr(value, "inputs")


def export_model(model_path, fmt: str, out, *, overwrite: bool = False) -> ExportResult:
    """Export ``model_path`` (run, .keras, shipped name, or an in-memory ``keras.Model``) as ``fmt`` to
    ``out`` and verify it; ``out``'s folder is created when missing."""
    fmt = check_format(fmt)
    in_memory = is_model(model_path)
    label = f"the model {model_path.name!r}" if in_memory else str(model_path)
    out = Path(out)
    suffix = FORMATS[fmt]
    if suffix and out.suffix.lower() != suffix:
        raise InvalidArgumentError(f"--out for {fmt} must end in {suffix}; got {out}.")
    if out.exists() and not overwrite:
        raise InvalidArgumentError(f"{out} already exists; pass --overwrite to replace it, or another --out.")
    if out.exists() and (out.is_dir() != (fmt == "savedmodel")):
        raise InvalidArgumentError(f"{out} exists and is a {'directory' if out.is_dir() else 'file'}; "
                                   f"a {fmt} export is a {'directory' if fmt == 'savedmodel' else 'file'}.")
    if out.is_dir() and not (out / "saved_model.pb").is_file():
        # --overwrite replaces an earlier export, never a folder of other things (or the one we stand in)
        raise InvalidArgumentError(f"{out} is a directory but not a SavedModel (no saved_model.pb); "
                                   "--overwrite replaces only an earlier export. Pass a new --out.")
    if out.parent.exists() and not out.parent.is_dir():
        raise InvalidArgumentError(f"The folder of --out, {out.parent}, is a file; pass another --out.")
    backend = _check_backend_can_export(fmt)
    if fmt == "onnx":
        _require(*(("onnxruntime",) if backend == "torch" else ("tf2onnx", "onnxruntime")))
    out.parent.mkdir(parents=True, exist_ok=True)

    from zoo.precision import float32_copy
    from zoo.run import load_classifier
    from zoo.rundir import MODEL_FILE

    # float32 whatever the training precision: exporters and runtimes choke on mixed bf16 graphs
    if in_memory:  # through a .keras file: the export is of exactly what Keras saves, and the caller's model stays untouched
        import keras

        with tempfile.TemporaryDirectory(prefix=".zoo-export-") as tmp:
            keras.saving.save_model(model_path, Path(tmp) / MODEL_FILE)
            model = float32_copy(load_classifier(Path(tmp) / MODEL_FILE)[0])
    else:
        model = float32_copy(load_classifier(model_path)[0])
    shape = tuple(int(d) for d in model.inputs[0].shape[1:])
    images = np.random.default_rng(0).uniform(0, 255, (CHECK_IMAGES, *shape)).astype("float32")
    expected = np.asarray(model.predict(images, verbose=0), dtype="float64")
    if backend == "tensorflow":
        _capture_constants_as_variables(model)

    from zoo.io import publish, remove_stale_siblings, staging_dir

    remove_stale_siblings(out)  # a killed export's staging folder goes; one killed mid-swap is put back
    staging = staging_dir(out)
    try:
        target = staging / (out.name if suffix else "savedmodel")
        try:
            with _quiet():  # converter chatter; errors still propagate
                model.export(str(target), format={"savedmodel": "tf_saved_model", "tflite": "litert"}.get(fmt, fmt),
                             verbose=False)
        except OSError as exc:
            raise exc from None  # a full or read-only disk: the CLI says so in its own words
        except Exception as exc:  # converters raise many types; the user needs the first line
            reason = first_sentences(exc)
            raise ModelFileError(f"Exporting {label} as {fmt} failed: {reason}") from None
        try:
            got = np.asarray(RUNNERS[fmt](target, images), dtype="float64")
        except Exception as exc:  # the runtime that reloads the export refused it
            reason = first_sentences(exc)
            raise ModelFileError(f"The {fmt} export of {label} does not reload: {reason}; nothing was written.") from None
        diff = float(np.max(np.abs(got - expected)))
        scale = float(np.max(np.abs(expected)))
        if not np.isfinite(diff) or diff > TOLERANCE * max(1.0, scale):
            raise ModelFileError(f"The {fmt} export of {label} computes other logits than the Keras model "
                                 f"(largest difference {diff:.3g} at logit scale {scale:.3g}); nothing was written.")
        size = sum(f.stat().st_size for f in target.rglob("*") if f.is_file()) if target.is_dir() else \
            target.stat().st_size
        publish(target, out)  # an earlier export is swapped out in one step: a kill leaves the old or the new
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return ExportResult(fmt, str(out), size, CHECK_IMAGES, diff, scale)


def first_sentences(exc, limit: int = 240) -> str:
    """The start of a converter's message, cut after a whole sentence (never mid-word) within ``limit``."""
    text = " ".join((str(exc).strip().splitlines() or [type(exc).__name__])[0].split())
    if len(text) <= limit:
        return text.rstrip(".")
    cut = text.rfind(". ", 0, limit)
    if cut > 0:
        return text[:cut]
    space = text.rfind(" ", 0, limit)
    return text[:space if space > 0 else limit].rstrip(",;:") + " ..."


def _check_backend_can_export(fmt: str) -> str:
    """The running Keras backend, once it is known that it can write ``fmt``."""
    import importlib.util

    from zoo.backend import name

    backend = name()
    if backend == "torch" and fmt != "onnx":
        raise InvalidArgumentError(f"The PyTorch backend exports ONNX only; {fmt} is a TensorFlow format: pass "
                                   "--format onnx, or run with KERAS_BACKEND=tensorflow.")
    if backend == "jax" and importlib.util.find_spec("tensorflow") is None:
        raise InvalidArgumentError(f"Keras exports {fmt} from JAX through jax2tf, which needs TensorFlow (not installed "
                                   "here): pip install tensorflow, or export ONNX with KERAS_BACKEND=torch.")
    return backend


def _require(*modules: str) -> None:
    import importlib.util

    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        raise ModelFileError(f"ONNX export needs {' and '.join(missing)}: pip install {' '.join(missing)} "
                             "(or pip install 'zoo[export]').")


def _capture_constants_as_variables(model) -> None:
    """Give each Normalization layer variables instead of constant tensors for its statistics.

    Keras turns a Normalization's mean and variance into constant tensors once set; a traced
    function captures those as extra graph inputs, which tf2onnx then exports as required ONNX
    inputs ("standardize/Sub/y:0 is missing from input feed"). Variables are frozen into the
    graph by every exporter. Same values, so the model computes exactly what it did.
    """
    import keras
    import tensorflow as tf

    for layer in _all_layers(model):
        if isinstance(layer, keras.layers.Normalization) and getattr(layer, "mean", None) is not None:
            for name in ("mean", "variance"):
                value = np.asarray(getattr(layer, name))
                # object.__setattr__: not a Keras-tracked weight, only a capture the exporters can freeze
                object.__setattr__(layer, name, tf.Variable(value, trainable=False, name=f"{layer.name}_{name}"))


def _all_layers(model):
    for layer in model.layers:
        yield layer
        if hasattr(layer, "layers"):  # ensembles hold their members as sub-models
            yield from _all_layers(layer)


@contextlib.contextmanager
def _quiet():
    """Mute Python warnings and file descriptor 2 (the TFLite runtime prints an INFO line there)."""
    sys.stderr.flush()
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def _run_savedmodel(path, images):
    import tensorflow as tf

    loaded = tf.saved_model.load(str(path))  # kept in a name: its variables die with the object
    return loaded.serve(tf.constant(images)).numpy()


def _run_tflite(path, images):
    try:  # the maintained LiteRT interpreter when installed, else TensorFlow's own (deprecated) copy
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        import tensorflow as tf

        Interpreter = tf.lite.Interpreter
    with _quiet():
        interpreter = Interpreter(model_path=str(path))
        inp = interpreter.get_input_details()[0]
        interpreter.resize_tensor_input(inp["index"], images.shape)
        interpreter.allocate_tensors()
        interpreter.set_tensor(inp["index"], images)
        interpreter.invoke()
        return interpreter.get_tensor(interpreter.get_output_details()[0]["index"])


def _run_onnx(path, images):
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: images})[0]


RUNNERS = {"savedmodel": _run_savedmodel, "tflite": _run_tflite, "onnx": _run_onnx}

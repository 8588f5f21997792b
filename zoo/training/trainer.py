"""The trainer: config -> data -> model -> ``model.fit`` with callbacks -> a run directory.

A run directory (its layout: zoo/rundir.py) gets ``config.json`` as soon as training starts, then
``history.csv``, ``logs/`` and ``checkpoints/`` while it runs, and ``model.keras``,
``metrics.json``, ``curves.png``, ``confusion.png`` (each written atomically) when it ends.
Everything that can fail on bad input (options, data, model/data fit) is checked before the
directory is created, so a failed start leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import importlib.util
import math
import shutil
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from zoo.errors import InvalidArgumentError, ModelFileError, TrainingError
from zoo.progress import SILENT, ConsoleProgress, Progress
from zoo.rundir import CONFIG_FILE, MODEL_FILE, RunDir
from zoo.training.config import TrainConfig, resolve


class TrainingInterrupted(TrainingError):
    """Ctrl-C or SIGTERM: the last finished epoch is backed up and ``--resume`` continues."""

    exit_code = 130


class Diverged(TrainingError):
    """The loss became NaN or infinite."""


@dataclass
class TrainResult:
    run_dir: Path
    config: TrainConfig
    metrics: dict
    history: list[dict] = field(default_factory=list)
    skipped: bool = False  # the run directory held a finished run (``--resume``)
    initial_epoch: int = 0  # epochs already done when this call started
    seconds: float = 0.0
    stopped_early: bool = False
    model: object = field(default=None, repr=False)  # the trained Keras model (None when skipped)

    def summary(self) -> dict:
        m = self.metrics
        return {"run_dir": str(self.run_dir), "model": self.config.model, "dataset": self.config.dataset,
                "epochs": len(self.history), "test_accuracy": m.get("accuracy"), "test_top5": m.get("top5"),
                "val_accuracy": (self.history[-1].get("val_accuracy") if self.history else None),
                "train_seconds": round(self.seconds, 2), "skipped": self.skipped,
                "resumed_from_epoch": self.initial_epoch, "stopped_early": self.stopped_early,
                **({"learned_nothing": m["learned_nothing"]} if m.get("learned_nothing") else {})}


@dataclass(frozen=True)
class DataFacts:
    """What the data taught the run, apart from what was asked (written to config.json beside the options)."""

    class_names: tuple[str, ...]
    input_shape: tuple[int, int, int]

    @property
    def num_classes(self) -> int:
        return len(self.class_names)


@dataclass
class PreparedRun:
    """Everything the loop needs, decided once by ``_prepare``: the loop functions take this record.

    ``config`` is complete (every default resolved, the data's facts folded in) and is replaced,
    never edited, on the way; ``decisions`` is what the run chose rather than was asked.
    """

    config: TrainConfig
    mode: str  # "new", "overwrite", "resume" or "extend"
    run_dir: Path
    work_dir: Path  # the run directory on the chief; a temporary folder on another worker
    hw: object  # zoo.training.distributed.Hardware
    data: object  # zoo.data.Dataset
    facts: DataFacts
    model: object
    effective_lr: float | None  # the transfer setup's rate, when it differs from --lr
    decisions: dict
    steps_per_epoch: int
    schedule_callbacks: list
    progress: Progress
    extra_callbacks: tuple
    t_start: float

    @property
    def chief(self) -> bool:
        return self.work_dir == self.run_dir

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return self.facts.input_shape


# ----------------------------------------------------------------------------------------------
# Run directory state


def _plan_run_dir(config: TrainConfig, *, resume: bool, overwrite: bool, say) -> tuple[TrainConfig, str]:
    """Decide what to do with the output directory: "new", "overwrite", "resume" or "finished".

    On resume the saved config.json wins (the run must continue as it started), except --epochs
    when given, which lets a finished schedule be extended.
    """
    if resume and overwrite:
        raise InvalidArgumentError("--resume and --overwrite contradict each other; pass one of them.")
    run_dir = Path(config.out)
    if run_dir.exists() and not run_dir.is_dir():
        raise TrainingError(f"--out {run_dir} is a file, not a directory; pass another --out.")
    files = RunDir(run_dir)
    if run_dir.is_dir() and not files.config_file.exists():
        files.remove_partial_files()  # a run killed before its config.json was in place left only these
    exists = run_dir.is_dir() and any(run_dir.iterdir())
    if not exists:
        if resume:
            say(f"No run in {run_dir} yet: starting one.")
        return config, "new"
    if overwrite:
        return config, "overwrite"
    if not resume:
        raise TrainingError(
            f"Output directory {run_dir} already exists. Pass --resume to continue that run, "
            "--overwrite to replace it, or --out DIR for a new one.")
    saved = files.read_config()
    if saved is None:
        raise TrainingError(
            f"Cannot resume {run_dir}: it has no readable {CONFIG_FILE}, so it is not a zoo run. "
            "Pass --overwrite to replace it or --out DIR for a new run.")
    if saved.get("model") != config.model:
        raise TrainingError(
            f"Cannot resume {run_dir}: it trains {saved.get('model')!r}, not {config.model!r}. "
            "Pass the same model, or --out DIR for a new run.")
    resumed = TrainConfig.from_dict(saved)
    resumed.out = config.out
    _say_what_resume_keeps(config, resumed, say)
    finished = files.is_finished()
    if config.epochs is not None and config.epochs != resumed.epochs and not (finished and config.epochs < resumed.epochs):
        say(f"Changing the number of epochs from {resumed.epochs} to {config.epochs}.")
        resumed.epochs = config.epochs
        if finished:
            return resumed, "extend"
    if finished:
        return resumed, "finished"
    return resumed, "resume"


def _say_what_resume_keeps(asked: TrainConfig, saved: TrainConfig, say) -> None:
    """Name the options given with --resume that differ from the run's: the saved ones win."""
    from dataclasses import fields

    defaults = TrainConfig(model=asked.model)
    ignored = {"out", "epochs", "class_names", "num_classes", "recipe"}  # epochs may change; the rest are not options
    clashes = []
    for f in fields(TrainConfig):
        given, kept = getattr(asked, f.name), getattr(saved, f.name)
        if f.name in ignored or given == getattr(defaults, f.name):
            continue  # left at its default: nothing was asked
        if (list(given) if isinstance(given, tuple) else given) != (list(kept) if isinstance(kept, tuple) else kept):
            clashes.append(f"{f.name} {kept!r} (not {given!r})")
    if clashes:
        say("--resume keeps the run's own settings: " + ", ".join(clashes) +
            ". Only --epochs can change on resume; train into a new --out to change the others.")


# ----------------------------------------------------------------------------------------------
# Data


def resolve_input_shape(config: TrainConfig, spec, data, say) -> tuple[int, int, int]:
    """The model's input: --input-shape, else the model's H, W with the data's channels.

    Images of another size are resized by the pipeline (said once); a channel count the data does
    not have is refused.
    """
    native = data.image_shape
    channels = data.channels  # known for a folder of mixed sizes too
    if config.input_shape is not None:
        shape = tuple(config.input_shape)
    else:
        h, w, c = spec.input_shape
        shape = (h, w, channels or c)
    if channels is not None and channels != shape[2]:
        raise InvalidArgumentError(
            f"{config.dataset} images have {channels} channel(s) but --input-shape asks for {shape[2]}; "
            f"use {shape[0]},{shape[1]},{channels}.")
    if native is None:
        say(f"{config.dataset} images differ in size: each is resized to {shape[0]}x{shape[1]}"
            f" ({'RGB' if shape[2] == 3 else 'grey'}).")
    if native is not None and tuple(native[:2]) != tuple(shape[:2]):
        hint = "" if config.input_shape is not None else (
            " (pass --input-shape to choose another, or pick a small-input model: `zoo models small`)"
            if not spec.small_input else " (pass --input-shape to choose another)")
        whose = "the requested input size" if config.input_shape is not None else f"the input size of {config.model}"
        say(f"Resizing {native[0]}x{native[1]} images to {shape[0]}x{shape[1]}, {whose}{hint}.")
    return shape


def _check_batch_fits(input_shape, batch_size: int) -> None:
    """Refuse, before any model is built, a batch whose float32 input alone exceeds the machine's memory."""
    import os

    need = int(batch_size) * math.prod(int(d) for d in input_shape) * 4
    try:
        have = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return
    if need > have:
        h, w, c = input_shape
        raise InvalidArgumentError(
            f"--input-shape {h},{w},{c} with --batch-size {batch_size}: one batch of inputs alone is "
            f"{need / 2**30:,.1f} GiB, more than this machine's {have / 2**30:.0f} GiB. Lower them.")


def steps_for(n: int, batch_size: int) -> int:
    return max(1, math.ceil(n / batch_size))


# Up to this many epochs the stream is one tf.data graph; beyond it, epochs are built one at a time
# as training reaches them (building 5,000 epoch pipelines up front took 100 s; 10^8 never ended).
EAGER_EPOCHS = 64


def train_stream(data, config: TrainConfig, input_shape, initial_epoch: int, *, eager_epochs: int = EAGER_EPOCHS):
    """Batches for epochs initial_epoch..epochs-1, each epoch shuffled/augmented from its own seed.

    Seeding per epoch (not one shuffle whose state lives in the process) makes epoch e's batches
    the same whether the run went straight through or was resumed at e, which is what makes a
    resumed run end with the same weights. The raw split is cached once (when it fits
    in memory) and shared by all epochs; a larger one streams with a bounded shuffle. Long runs
    (more than ``eager_epochs`` epochs left) get the same batches from a generator that builds
    each epoch's pipeline only when the previous one is used up.
    """
    from zoo.data import cache_split, make_pipeline
    from zoo.data.arrays import ArraySplit, epoch_stream

    from zoo.backend import name

    epoch_seed = lambda e: config.seed * 100003 + e
    if name() != "tensorflow":  # JAX or PyTorch: NumPy batches, augmented by the layers on that backend
        if mixes_labels(config):
            raise InvalidArgumentError("--mixup and --cutmix mix batches in tf.data graphs, which Keras on "
                                       f"{name()} does not run: drop them, or train with KERAS_BACKEND=tensorflow.")
        if isinstance(data.train, ArraySplit):  # in memory: zoo.data.arrays
            return epoch_stream(data.train, input_shape=input_shape, batch_size=config.batch_size,
                                augment=config.augment, epoch_seed=epoch_seed, first=initial_epoch, last=config.epochs)
        return _augmented_outside_tf_data(cache_split(data.train), config, input_shape, epoch_seed, initial_epoch)
    import tensorflow as tf

    source = cache_split(data.train)  # one cache shared by every epoch's pipeline, if it fits

    def epoch(e):
        batches = make_pipeline(source, input_shape=input_shape, batch_size=config.batch_size, training=True,
                                augment=config.augment, seed=epoch_seed(e), cache=False)
        if not mixes_labels(config):
            return batches
        from zoo.data.mixing import mix_batches

        return mix_batches(batches, num_classes=data.num_classes, mixup=config.mixup, cutmix=config.cutmix,
                           seed=epoch_seed(e))

    first = epoch(initial_epoch)
    if config.epochs - initial_epoch <= eager_epochs:
        stream = first
        for e in range(initial_epoch + 1, config.epochs):
            stream = stream.concatenate(epoch(e))
        return stream

    def batches():
        yield from first
        for e in range(initial_epoch + 1, config.epochs):
            yield from epoch(e)

    return tf.data.Dataset.from_generator(batches, output_signature=first.element_spec).prefetch(tf.data.AUTOTUNE)


def _augmented_outside_tf_data(source, config: TrainConfig, input_shape, epoch_seed, initial_epoch: int):
    """A tf.data split (TFDS, folders) on JAX or PyTorch: batches from tf.data, augmented after it by the
    same seeded layers run on the backend (Keras runs zoo's own layers inside a tf.data graph only on
    TensorFlow)."""
    from keras import ops

    from zoo.data import build_augmentation, make_pipeline

    for e in range(initial_epoch, config.epochs):
        augmenter = build_augmentation(config.augment, input_shape[2], epoch_seed(e))
        batches = make_pipeline(source, input_shape=input_shape, batch_size=config.batch_size, training=True,
                                augment="none", seed=epoch_seed(e), cache=False)
        for x, y in batches.as_numpy_iterator():
            yield (x if augmenter is None else ops.convert_to_numpy(augmenter(x, training=True))), y


def eval_stream(data, split: str, input_shape, batch_size: int):
    from zoo.data import make_pipeline

    return make_pipeline(data.split(split), input_shape=input_shape, batch_size=batch_size, training=False,
                         augment="none", cache=True)


# ----------------------------------------------------------------------------------------------
# Model


def mixes_labels(config: TrainConfig) -> bool:
    """MixUp or CutMix: the training labels are soft, so loss and accuracy read one-hot labels."""
    return bool(config.mixup or config.cutmix)


def make_loss(config: TrainConfig, num_classes: int):
    import keras

    if mixes_labels(config):  # soft labels; label smoothing applies on top of the mixing
        return keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=config.label_smoothing)

    if config.label_smoothing > 0:
        from zoo.training.losses import SparseSmoothedCrossentropy

        return SparseSmoothedCrossentropy(config.label_smoothing, num_classes)
    return keras.losses.SparseCategoricalCrossentropy(from_logits=True)


def build_model(config: TrainConfig, data, input_shape, say):
    """(model, loss or None, lr or None, decisions): a fresh registry model, or a transfer setup.

    ``decisions`` is what was chosen rather than asked (``--transfer auto``'s mode), for config.json.
    """
    if config.transfer_from:
        from zoo.training.transfer import prepare_transfer

        setup = prepare_transfer(config, data, input_shape, data.num_classes)
        if setup.message:
            say(setup.message)
        return setup.model, setup.loss, setup.learning_rate, {"transfer": setup.mode}
    from zoo.data import channel_stats
    from zoo.models.common import set_standardization
    from zoo.registry import create_model

    overrides = {} if config.dropout is None else {"dropout": config.dropout}
    model = create_model(config.model, input_shape=input_shape, num_classes=data.num_classes, **overrides)
    mean, variance = channel_stats(data, input_shape)
    set_standardization(model, mean, variance)
    return model, None, None, {}


def _adversarial_train_step(config: TrainConfig):
    """A train_step that mixes adversarial examples (against the current weights) into each batch.

    On JAX Keras' step is a pure function of the state: the model's variables are bound to the
    state's values while the examples are crafted (the weights of this step, as on the other
    backends), and PGD's random start is keyed by the optimizer's step.
    """
    from zoo.attack import mix_adversarial
    from zoo.backend import name

    def mix(model, x, y, seed=None):
        return mix_adversarial(model, x, y, method=config.adversarial, eps=config.adv_eps, ratio=config.adv_ratio,
                               seed=seed)

    if name() == "jax":
        import keras

        def jax_train_step(self, state, data):
            trainable, non_trainable, optimizer_values = state[0], state[1], state[2]
            step = next(value for v, value in zip(self.optimizer.variables, optimizer_values)
                        if v is self.optimizer.iterations)
            bound = list(zip(self.trainable_variables, trainable)) + list(zip(self.non_trainable_variables,
                                                                              non_trainable))
            with keras.StatelessScope(state_mapping=bound):
                x, y = mix(self, data[0], data[1], seed=step)
            return type(self).train_step(self, state, (x, y))

        return jax_train_step

    def train_step(self, data):
        x, y = mix(self, data[0], data[1])
        return type(self).train_step(self, (x, y))

    return train_step


def compile_model(model, config: TrainConfig, steps_per_epoch: int, num_classes: int, *, loss=None,
                  lr=None, jit: bool = False, steps_per_execution: int = 1):
    """Compile with the configured optimizer/schedule/loss; returns the extra schedule callbacks."""
    import types

    import keras

    from zoo.training.optimizers import make_training_optimizer

    # the transfer setup's rate (e.g. 0.1x --lr for finetune) drives this optimizer only: config.lr
    # stays the user's --lr, so config.json (and a --resume from it) does not scale it again
    optimizer, callbacks = make_training_optimizer(model, config if lr is None else replace(config, lr=float(lr)),
                                                   steps_per_epoch)
    if config.adversarial:
        model.train_step = types.MethodType(_adversarial_train_step(config), model)
    model.compile(optimizer=optimizer, loss=loss or make_loss(config, num_classes),
                  # with mixed labels "accuracy" counts a hit on the larger of the two mixed labels
                  metrics=[keras.metrics.CategoricalAccuracy(name="accuracy") if mixes_labels(config)
                           else keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
                  jit_compile=jit, steps_per_execution=steps_per_execution)
    return callbacks


# ----------------------------------------------------------------------------------------------
# Finishing


def finalize_run(run_dir: Path, model, data, config: TrainConfig, input_shape, history: list[dict],
                 extra: dict | None = None) -> dict:
    """model.keras, metrics.json (test split), curves.png, confusion.png: each written atomically."""
    from zoo.evaluation import classification_metrics, logits_and_labels
    from zoo.plots.training import plot_confusion, plot_curves

    split = "test" if data.test is not None else "val"
    logits, labels = logits_and_labels(model, eval_stream(data, split, input_shape, max(config.batch_size, 256)))
    metrics = classification_metrics(labels, logits, data.class_names)
    metrics = {"split": split, "dataset": config.dataset, "model": config.model, **metrics,
               "epochs_trained": len(history), **(extra or {})}
    if history:
        last = history[-1]
        metrics["final_train_accuracy"] = last.get("accuracy")
        metrics["final_val_accuracy"] = last.get("val_accuracy")
    mixed = " (train accuracy: the larger mixed label)" if mixes_labels(config) else ""
    files = RunDir(run_dir)
    plot_curves(history, files.curves_file, title=f"{config.model} on {config.dataset}{mixed}")
    plot_confusion(metrics["confusion_matrix"], data.class_names, files.confusion_file,
                   title=f"{config.model}: {split} accuracy {metrics['accuracy']:.2%}")
    files.write_model(model)
    files.write_metrics(metrics)  # last: its presence marks a finished run
    return metrics


# ----------------------------------------------------------------------------------------------
# The entry point


def train(config: TrainConfig, **kwargs) -> TrainResult:
    """Train ``config.model`` and write a run directory; see the module docstring and ``_train``.

    The process-wide settings a run changes (Keras dtype policy, TF op determinism) are put back
    afterwards, so a library caller's (or the next test's) models are not built in bfloat16.
    """
    import keras

    from zoo.backend import name
    from zoo.rundir import RunLock
    from zoo.training.distributed import is_chief

    tf_config = None
    if name() == "tensorflow":  # op determinism is TensorFlow's switch
        from tensorflow.python.framework import config as tf_config
    policy = keras.mixed_precision.global_policy()
    deterministic = tf_config is None or tf_config.is_op_determinism_enabled()
    # One writer per run directory (only the chief writes it in a multi-worker run): a second
    # `zoo train` or an --overwrite of a live run refuses; a killed owner's lock is taken over.
    checked = resolve(config)  # every bad option fails here, before anything is touched
    out = checked.out
    lock = RunLock(out, f"zoo train {config.model}") if is_chief() else contextlib.nullcontext()
    try:
        with lock:
            if getattr(lock, "took_over", None):
                kwargs.get("progress", SILENT).note(f"{out} was left by pid {lock.took_over.get('pid')}, which ended "
                                         "without finishing; this process holds it now.")
            return _train(config, checked, **kwargs)
    finally:
        keras.mixed_precision.set_global_policy(policy)
        if not deterministic and tf_config.is_op_determinism_enabled():
            tf_config.disable_op_determinism()


def _train(asked: TrainConfig, checked: TrainConfig, *, resume: bool = False, overwrite: bool = False,
           progress: Progress = SILENT, extra_callbacks=()) -> TrainResult:
    """``asked`` as given (None = not asked), ``checked`` its resolved copy; ``progress`` is told the
    notes (resizing, resuming ...) and, when it is a live ``ConsoleProgress``, draws the per-epoch
    bar; ``extra_callbacks`` are Keras callbacks added last.
    """
    say = progress.note
    from zoo.training import distributed
    from zoo.training.backup import Backup

    t_start = time.perf_counter()
    planned, mode = _plan_run_dir(replace(asked, out=checked.out), resume=resume, overwrite=overwrite, say=say)
    config = checked if mode in ("new", "overwrite") else resolve(planned)  # a resumed run: its saved options
    run_dir = Path(config.out)
    if mode == "finished":
        files = RunDir(run_dir)
        Backup(files.backup_dir).remove()  # left if a kill came between metrics.json and its removal
        say(f"{run_dir} already holds a finished run; nothing to do (pass --overwrite to train again).")
        return TrainResult(run_dir, config, files.read_metrics() or {}, files.read_history(),
                           skipped=True, initial_epoch=config.epochs)
    # Only the chief writes the run; another worker of a multi-worker run writes the same files
    # into a temporary folder it deletes, and resumes from the chief's backup (TF's convention:
    # the run directory is on storage every worker sees).
    work_dir = run_dir if distributed.is_chief() else Path(tempfile.mkdtemp(prefix="zoo-worker-"))
    try:
        prep = _prepare(config, mode, run_dir, work_dir, batch_asked=asked.batch_size is not None,
                        progress=progress, extra_callbacks=tuple(extra_callbacks), t_start=t_start)
        return _train_in(prep)
    finally:
        if work_dir != run_dir:
            shutil.rmtree(work_dir, ignore_errors=True)


def _prepare(config: TrainConfig, mode: str, run_dir: Path, work_dir: Path, *, batch_asked: bool = True,
             progress: Progress = SILENT, extra_callbacks: tuple = (), t_start: float = 0.0) -> PreparedRun:
    """Hardware, data, what the data taught, model and compiled optimizer: one record for the loop."""
    say = progress.note
    from zoo.registry import MODELS
    from zoo.run import Run

    hw = _setup_hardware(config, run_dir, mode, say)  # device, precision, seeds, strategy: before any model
    spec = MODELS.get(config.model)
    # the same rule every later command uses to find this run's data again
    data = Run(str(run_dir), config.to_dict()).data(limit=config.limit, download=config.download)
    _check_data(config, data, run_dir)
    input_shape = tuple(resolve_input_shape(config, spec, data, say))
    batch_size = config.batch_size
    n_train = data.sizes.get("train", 0)
    if n_train and batch_size > n_train:  # as Keras does: one batch of everything there is
        if batch_asked:  # a default batch larger than a tiny --limit needs no note
            say(f"--batch-size {batch_size} is more than the {n_train} training images: using batches of {n_train}.")
        batch_size = n_train  # what the run uses, so config.json (and a resume) says so
    _check_batch_fits(input_shape, batch_size)
    facts = DataFacts(tuple(data.class_names), input_shape)
    config = replace(config, class_names=list(facts.class_names), num_classes=facts.num_classes,
                     input_shape=input_shape, batch_size=batch_size)

    with hw.scope():
        model, loss, lr, chosen = build_model(config, data, input_shape, say)
        steps_per_epoch = steps_for(n_train, batch_size)
        schedule_callbacks = compile_model(model, config, steps_per_epoch, facts.num_classes, loss=loss, lr=lr,
                                           jit=hw.jit, steps_per_execution=hw.steps_per_execution(steps_per_epoch))
    return PreparedRun(config, mode, run_dir, work_dir, hw, data, facts, model, lr, chosen, steps_per_epoch,
                       schedule_callbacks, progress, extra_callbacks, t_start)


def _check_data(config: TrainConfig, data, run_dir: Path) -> None:
    """Refuse data the options cannot work with, before the run directory is touched."""
    if data.val is None and config.val_split > 0:
        raise InvalidArgumentError(
            f"{config.dataset} gave no validation images with --val-split {config.val_split:g} "
            f"({data.sizes.get('train', 0)} training images); add images, or pass --val-split 0 to train on all.")
    if data.val is None and (config.early_stopping or config.schedule == "plateau"):
        raise InvalidArgumentError("--early-stopping and --schedule plateau watch the validation loss; "
                                   "they need --val-split > 0.")
    if data.val is None and data.test is None:
        raise InvalidArgumentError(f"{config.dataset} has no test split, so --val-split 0 would leave nothing to "
                                   "evaluate on; pass --val-split > 0 (e.g. 0.1).")
    if config.class_names and list(config.class_names) != list(data.class_names):
        raise TrainingError(f"Cannot resume {run_dir}: the dataset's classes changed since the run started.")


def _setup_hardware(config: TrainConfig, run_dir: Path, mode: str, say):
    """``setup_hardware``, except that a resumed ``--precision auto`` run keeps the precision it recorded.

    A run is one computation: epochs trained in bf16 and continued in fp32 on another machine would
    be neither run. So the recorded precision wins (bf16 runs everywhere, emulated and slower where
    the CPU lacks it), the note says so, and config.json keeps saying what the run really is.
    """
    from zoo.training import distributed

    recorded = None
    if mode in ("resume", "extend") and config.precision == "auto":
        recorded = (RunDir(run_dir).read_config() or {}).get("decisions", {}).get("precision")
    if recorded is None:
        return distributed.setup_hardware(config)
    hw = distributed.setup_hardware(replace(config, precision=recorded))
    here, why = distributed.precision_here(hw.device.upper().find("GPU") >= 0)
    if here != recorded:
        say(f"This run trained in {recorded}; --precision auto would pick {here} here ({why}). It continues in "
            f"{recorded}, as recorded, so the resumed run stays the same computation"
            + (" (bf16 is emulated on this CPU: slower)." if recorded == "mixed_bfloat16" and here == "fp32" else "."))
    hw.precision_reason = why if here == recorded else f"recorded when the run started; here {why}"
    return hw


def _train_in(prep: PreparedRun) -> TrainResult:
    """Restore, fit, finish: every write goes to ``prep.work_dir`` (the run directory, on the chief)."""
    from zoo.training import distributed
    from zoo.training.backup import Backup

    work_dir, run_dir, mode, config, hw, data, model = (prep.work_dir, prep.run_dir, prep.mode, prep.config, prep.hw,
                                                         prep.data, prep.model)
    input_shape, lr, say, chief = prep.input_shape, prep.effective_lr, prep.progress.note, prep.chief
    files = RunDir(run_dir)
    backup = Backup(RunDir(work_dir).backup_dir)
    with hw.scope():  # the optimizer's variables are built (then loaded) under the run's strategy
        if mode == "extend":
            _reopen_finished(run_dir, model, prep.steps_per_epoch, backup, say, chief=chief)
        source = backup if mode == "extend" else Backup(files.backup_dir)
        restored = source.restore(model) if mode in ("resume", "extend") else None
        backup.torch_rng = getattr(source, "torch_rng", None)  # applied when fit begins (EpochBackup)
    initial_epoch = restored.epoch if restored else 0
    if hw.custom_loop:
        distributed.check_workers_agree(hw.strategy, initial_epoch, run_dir)
    # trained to the end (killed after the last epoch, or early stopping ended it): only the finishing
    # steps are left, unless --epochs now asks for more than a run that was not stopped early had
    finishing = bool(restored and (restored.epoch == config.epochs or (
        restored.final and (restored.info.get("stopped_early") or restored.epoch > config.epochs))))
    if mode == "resume":
        say(_resume_note(run_dir, config, initial_epoch, finishing))
    if initial_epoch >= config.epochs and not finishing:
        raise TrainingError(f"{run_dir} already trained {initial_epoch} epochs; pass --epochs above that to go on.")

    from zoo.backend import name as backend_name

    say(f"Keras backend: {backend_name()} (KERAS_BACKEND selects tensorflow, jax or torch).")
    if config.precision == "auto":  # said once, when the run really starts
        say(f"Precision: {hw.precision} ({hw.precision_reason}).")
    created = _create_run_dir(run_dir, mode) if chief else False
    RunDir(work_dir).remove_partial_files()
    try:
        if chief:
            files.write_config({
                **config.to_dict(), "input_shape": list(input_shape), "dataset_sizes": data.sizes,
                "steps_per_epoch": prep.steps_per_epoch, **({} if lr is None else {"effective_lr": float(lr)}),
                **({"workers": hw.strategy.num_replicas_in_sync} if hw.custom_loop else {}),
                # what the run decided, apart from what was asked
                "decisions": {**hw.decisions(), **prep.decisions, **({"train_accuracy": "a hit on the larger of "
                              "the two mixed labels (MixUp/CutMix)"} if mixes_labels(config) else {})}})
        if finishing:
            history = files.read_history(before_epoch=initial_epoch)
            stopped_early = bool(restored.info.get("stopped_early"))
            if config.ema is not None and not restored.final:  # killed between fit's end and its final backup:
                model.optimizer.finalize_variable_values(model.trainable_variables)  # what fit did then
        else:
            rows = files.read_history(before_epoch=initial_epoch)  # the chief's, on every worker
            history, stopped_early = _fit(prep, rows, initial_epoch, backup)
            # the weights fit ended with (early stopping may have restored earlier ones): finishing can resume
            backup.save(model, len(history), final=True, info={"stopped_early": stopped_early})
    except Diverged:
        if created:  # a diverged run is worth nothing, and its backup holds NaN weights
            shutil.rmtree(run_dir, ignore_errors=True)
        raise
    except BaseException as exc:
        done = backup.epoch()
        # nothing resumable written yet: remove what this call created rather than leave a half run
        if created and done == 0:
            shutil.rmtree(run_dir, ignore_errors=True)
            if isinstance(exc, (TrainingInterrupted, KeyboardInterrupt)):  # so do not suggest --resume for it
                raise TrainingInterrupted(
                    f"Interrupted before the first epoch finished; nothing was kept in {run_dir}. Run the same "
                    "command again to start over.") from None
        if isinstance(exc, KeyboardInterrupt):
            raise _interrupted(config, run_dir, done) from None
        raise
    nothing = chance_note(config, history, data.num_classes, data.sizes.get("val", 0))
    for note in (batchnorm_note(model, history), nothing):
        if note:
            say(note)
    seconds = time.perf_counter() - prep.t_start
    metrics = {}
    if chief:
        extra = {"train_seconds": round(seconds, 2), **({"learned_nothing": nothing} if nothing else {}),
                 **({"replicas": hw.strategy.num_replicas_in_sync} if hw.custom_loop else {})}
        try:
            metrics = finalize_run(run_dir, model, data, config, input_shape, history, extra=extra)
        except KeyboardInterrupt:
            raise TrainingInterrupted(
                f"Interrupted while writing the results of {run_dir}; its {len(history)} epochs are trained and "
                f"kept. Finish it (no training) with: zoo train {config.model} --out {run_dir} --resume") from None
    backup.remove()
    return TrainResult(run_dir, config, metrics, history, initial_epoch=initial_epoch, seconds=seconds,
                       stopped_early=stopped_early, model=model)


def _resume_note(run_dir: Path, config: TrainConfig, initial_epoch: int, finishing: bool) -> str:
    if finishing:
        return f"{run_dir} finished training its {initial_epoch} epochs; writing its results."
    if initial_epoch:
        return f"Resuming {run_dir} at epoch {initial_epoch + 1}/{config.epochs}."
    listed = len(RunDir(run_dir).read_history())
    if listed:  # the backup is gone (deleted by hand?): say so rather than pretend nothing ran
        return f"{run_dir} has no backup to resume from (its history lists {listed} epoch(s)): starting it over."
    return f"{run_dir} has no finished epoch to resume from: starting it from epoch 1."


def _interrupted(config: TrainConfig, run_dir: Path, done: int) -> TrainingInterrupted:
    return TrainingInterrupted(f"Interrupted after {done} finished epoch(s). Continue with: zoo train {config.model} "
                               f"--out {run_dir} --resume")


def chance_note(config: TrainConfig, history: list[dict], num_classes: int, val_size: int = 0) -> str | None:
    """A run that learned nothing says so (an LR far too high kills every ReLU, or blows the loss up).

    Two signs, either enough: the final validation accuracy (training accuracy without a validation
    split) is within noise of chance, i.e. below 1/k + 3 binomial standard deviations for the
    images it was measured on; or the final training loss is over 100x ln(k), the loss of a model
    that knows nothing (ln(k) is where every classifier starts): it grew by orders of magnitude.
    """
    if not history:
        return None
    k = max(num_classes, 2)
    last = history[-1]
    loss = last.get("loss")
    val = last.get("val_accuracy")
    acc, measured_on, n = (val, "validation", val_size) if isinstance(val, float) and val_size else (
        last.get("accuracy"), "training", 0)
    chance = 1.0 / k
    # training accuracy averages over many batches: a 1.5x-chance margin stands in for its noise
    ceiling = chance + 3 * math.sqrt(chance * (1 - chance) / n) if n else 1.5 * chance
    exploded = isinstance(loss, float) and (not math.isfinite(loss) or loss > 100 * math.log(k))
    at_chance = isinstance(acc, float) and acc <= ceiling
    if not (exploded or at_chance):
        return None
    signs = []
    if at_chance:
        signs.append(f"{measured_on} accuracy is {acc:.1%} after {len(history)} epoch(s), within noise of chance "
                     f"({chance:.1%} for {num_classes} classes)")
    if exploded:
        signs.append(f"the training loss is {loss:.3g}, over 100x the {math.log(k):.2f} of a model that knows nothing")
    return (f"Warning: the model learned nothing: {'; '.join(signs)}. With --lr {config.lr:g} ({config.optimizer}) "
            "the steps are probably far too large; try a 10-100x lower --lr.")


def batchnorm_note(model, history: list[dict]) -> str | None:
    """The batch-norm lesson, said where it happens: validation far below training after few epochs.

    In training mode BN normalises with each batch's own statistics; at evaluation it uses moving
    averages (momentum 0.9 per step here) that lag far behind the weights early on, so a short run
    can score 0.46 in training and 0.14 on validation (googlenet_small after one tiny epoch).
    """
    import keras

    if not history or not any(isinstance(layer, keras.layers.BatchNormalization) for layer in model.layers):
        return None
    last = history[-1]
    train_acc, val_acc = last.get("accuracy"), last.get("val_accuracy")
    if not isinstance(train_acc, float) or not isinstance(val_acc, float) or len(history) > 3:
        return None
    if train_acc - val_acc < 0.2 or val_acc > 0.8 * train_acc:
        return None
    return (f"Note: validation accuracy {val_acc:.0%} is far below training accuracy {train_acc:.0%}. This model "
            "has batch normalization: it trains on each batch's statistics but evaluates with moving averages "
            "that have not settled after so few steps. Train longer (more data or epochs) before judging it.")


def _create_run_dir(run_dir: Path, mode: str) -> bool:
    if mode == "overwrite":
        shutil.rmtree(run_dir)
    created = not run_dir.exists() or not any(run_dir.iterdir())
    run_dir.mkdir(parents=True, exist_ok=True)
    return created


def _reopen_finished(run_dir: Path, model, steps_per_epoch: int, backup, say, *, chief: bool = True) -> None:
    """--resume --epochs N on a finished run: continue from its final weights and history."""
    files = RunDir(run_dir)
    history = files.read_history()
    model.optimizer.build(model.trainable_variables)  # built first, so its saved state loads too
    try:
        model.load_weights(str(files.model_file))
    except Exception as exc:
        raise ModelFileError(f"Cannot extend {run_dir}: its {MODEL_FILE} does not load ({exc}).") from None
    # the step count drives the LR schedule: continue it where the run stopped
    model.optimizer.iterations.assign(len(history) * steps_per_epoch)
    backup.save(model, len(history))
    if chief:
        files.metrics_file.unlink(missing_ok=True)
    say(f"Extending the finished run in {run_dir} from epoch {len(history)}.")


def _fit(prep: PreparedRun, rows: list[dict], initial_epoch: int, backup):
    """One set of callbacks, two drivers: ``model.fit``, or the multi-worker loop (which Keras 3
    ``fit`` cannot run, keras-team/keras#20585) calling the same callbacks at the same points."""
    import keras

    from zoo.training.callbacks import (AtomicModelCheckpoint, EpochBackup, HistoryCSV, LearningRateLogger, NaNStop,
                                        RichProgress)

    model, config, data, input_shape, hw = prep.model, prep.config, prep.data, prep.input_shape, prep.hw
    files = RunDir(prep.work_dir)
    steps_per_epoch, progress = prep.steps_per_epoch, prep.progress
    nan_stop = NaNStop()
    callbacks = [LearningRateLogger(), nan_stop]
    if isinstance(progress, ConsoleProgress) and progress.live:
        callbacks.append(RichProgress(progress.console, config.epochs, steps_per_epoch))
    callbacks += prep.schedule_callbacks
    early = None
    if config.early_stopping:
        early = keras.callbacks.EarlyStopping(monitor="val_loss", patience=config.early_stopping,
                                              restore_best_weights=True)
        callbacks.append(early)
    ema_in = ema_out = None
    if config.ema is not None:  # the averaged weights are judged (validation, best checkpoint): zoo/training/ema.py
        from zoo.training.ema import ema_callbacks

        ema_in, ema_out = ema_callbacks()
        callbacks.append(ema_in)
    if data.val is not None:  # --val-split 0 trains on everything: no best-on-validation model
        best_val = max([r.get("val_accuracy", float("-inf")) for r in rows], default=None)
        callbacks.append(AtomicModelCheckpoint(
            files.best_file, monitor="val_accuracy", mode="max", save_best_only=True,
            initial_value_threshold=best_val if isinstance(best_val, float) and math.isfinite(best_val) else None))
    # Keras' TensorBoard callback needs the package, and writes through tf.summary
    if all(importlib.util.find_spec(p) is not None for p in ("tensorboard", "tensorflow")):
        callbacks.append(keras.callbacks.TensorBoard(str(files.logs_dir), write_graph=False, profile_batch=0,
                                                     histogram_freq=config.histograms))
    if ema_out is not None:
        callbacks.append(ema_out)  # raw weights back before the history row and the epoch's backup
    history_cb = HistoryCSV(files.history_file, rows)
    callbacks.append(history_cb)
    callbacks.append(EpochBackup(backup))
    callbacks += list(prep.extra_callbacks)

    train_ds = train_stream(data, config, input_shape, initial_epoch)
    val_ds = eval_stream(data, "val", input_shape, max(config.batch_size, 256)) if data.val is not None else None
    if val_ds is not None and mixes_labels(config):  # the loss reads one-hot labels in validation too
        from zoo.data.mixing import one_hot_batches

        val_ds = one_hot_batches(val_ds, data.num_classes)
    if hw.custom_loop:
        from zoo.training.distributed import fit_multiworker

        fit_multiworker(model, hw.strategy, train_ds, val_ds, callbacks, config, initial_epoch, steps_per_epoch)
        if config.ema is not None:  # what model.fit does when it ends: the averages become the model
            model.optimizer.finalize_variable_values(model.trainable_variables)
    else:
        model.fit(train_ds, validation_data=val_ds, epochs=config.epochs, initial_epoch=initial_epoch,
                  steps_per_epoch=steps_per_epoch, callbacks=callbacks, shuffle=False, verbose=0)
    if nan_stop.where is not None:
        epoch, batch, value = nan_stop.where
        at = f"epoch {epoch + 1}" + (f", batch {batch + 1}" if batch is not None else "")
        raise Diverged(
            f"Training diverged: the loss became {value} at {at}. Lower --lr (now {config.lr:g}), "
            "or try another --optimizer or a --schedule with warmup.")
    history = history_cb.rows
    stopped_early = bool(early is not None and early.stopped_epoch > 0)
    return history, stopped_early

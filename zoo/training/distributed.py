"""Hardware and distribution: device, precision, XLA, seeds, and the tf.distribute strategy.

- ``default``: one device (``--device`` picks it through ``OneDeviceStrategy``).
- ``mirrored``: ``MirroredStrategy`` over the local GPUs (or CPUs), through ``model.fit``.
- ``multiworker``: ``MultiWorkerMirroredStrategy`` across processes/hosts described by
  ``TF_CONFIG``. Keras 3's ``model.fit`` does not support it (keras-team/keras#20585), so it runs
  the custom loop below (``strategy.run`` + a Keras optimizer), where only the chief writes the run
  directory.
- ``auto``: multiworker when ``TF_CONFIG`` names more than one worker, mirrored when there is more
  than one GPU, else default.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

from zoo.errors import InvalidArgumentError, TrainingError


def tf_config() -> dict:
    try:
        return json.loads(os.environ.get("TF_CONFIG", "") or "{}")
    except ValueError:
        raise InvalidArgumentError("TF_CONFIG is not valid JSON; see docs/distributed.md for its format.") from None


def cluster_workers() -> int:
    cluster = tf_config().get("cluster", {})
    return len(cluster.get("worker", [])) + len(cluster.get("chief", []))


def is_chief() -> bool:
    """The process that writes: task 'chief', or worker 0 when there is no chief (or no TF_CONFIG)."""
    cfg = tf_config()
    task = cfg.get("task", {})
    if not task:
        return True
    if task.get("type") == "chief":
        return True
    return task.get("type") == "worker" and int(task.get("index", 0)) == 0 and "chief" not in cfg.get("cluster", {})


@dataclass
class Hardware:
    strategy: object
    jit: bool
    custom_loop: bool
    device: str
    steps_per_execution_option: int | None
    precision: str = "fp32"  # what the run uses ("auto" resolved)
    precision_reason: str = ""

    def scope(self):
        return self.strategy.scope() if self.strategy is not None else contextlib.nullcontext()

    def steps_per_execution(self, steps_per_epoch: int) -> int:
        """Several steps per compiled call cut Python/callback overhead; a divisor of the epoch.

        Keras runs whole executions, so a value that does not divide the epoch would make every
        epoch overrun into the next one's batches (and per-epoch LR schedules drift).
        """
        want = self.steps_per_execution_option or 16
        return largest_divisor_at_most(steps_per_epoch, want)


def largest_divisor_at_most(n: int, cap: int) -> int:
    return max(d for d in range(1, max(1, min(cap, n)) + 1) if n % d == 0)


def _pick_device(device: str | None, tf):
    """A logical device name for --device, or a clear error naming what exists."""
    if device is None or str(device).lower() in ("", "auto"):
        return None
    d = str(device).lower()
    kind, _, index = d.partition(":")
    if kind not in ("cpu", "gpu"):
        raise InvalidArgumentError(f"--device must be cpu, gpu or gpu:N; got {device!r}.")
    found = tf.config.list_logical_devices(kind.upper())
    if not found:
        seen = ", ".join(x.name.split("device:")[-1] for x in tf.config.list_logical_devices()) or "none"
        raise InvalidArgumentError(f"--device {device}: TensorFlow sees no {kind.upper()} (it sees: {seen}). "
                                   "Pass --device cpu, or install a GPU build of TensorFlow.")
    i = int(index) if index.isdigit() else 0
    if i >= len(found):
        raise InvalidArgumentError(f"--device {device}: only {len(found)} {kind.upper()}(s) are visible.")
    return found[i].name


def setup_hardware(config) -> Hardware:
    """Seeds, precision and strategy, before any model or dataset is built."""
    import keras
    import tensorflow as tf

    strategy_name = config.strategy
    if strategy_name == "auto":
        if cluster_workers() > 1:
            strategy_name = "multiworker"
        elif len(tf.config.list_physical_devices("GPU")) > 1 and config.device is None:
            strategy_name = "mirrored"
        else:
            strategy_name = "default"
    strategy = None
    if strategy_name == "multiworker" and cluster_workers() < 2:
        raise InvalidArgumentError(
            f"--strategy multiworker needs TF_CONFIG naming two or more workers; it names {cluster_workers()}. "
            "See docs/distributed.md, or drop the option to train on this machine alone.")
    if strategy_name == "multiworker":
        # created first: it configures the collective ops of this process
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
    keras.utils.set_random_seed(config.seed)
    if config.deterministic:
        tf.config.experimental.enable_op_determinism()
    device = _pick_device(config.device, tf)
    if strategy_name == "mirrored":
        strategy = tf.distribute.MirroredStrategy()
    elif strategy_name == "default" and device is not None:
        strategy = tf.distribute.OneDeviceStrategy(device)
    on_gpu = (device or "").upper().find("GPU") >= 0 or (device is None and bool(tf.config.list_physical_devices("GPU")))
    jit = {"on": True, "off": False}.get(config.jit, on_gpu)
    precision, reason = (auto_precision(on_gpu, tf, device) if config.precision == "auto"
                         else (config.precision, "asked for with --precision"))
    if precision == "mixed_float16" and config.precision == "auto" and strategy_name == "multiworker":
        # float16 needs loss scaling, which the multi-worker loop does not apply; bf16 or fp32 do not
        precision, reason = "fp32", "float16 needs loss scaling, which the multi-worker loop does not do"
    # mixed_float16 on a CPU is allowed (slow) when asked; Keras adds loss scaling for it in compile.
    keras.mixed_precision.set_global_policy({"fp32": "float32"}.get(precision, precision))
    return Hardware(strategy=strategy, jit=jit, custom_loop=strategy_name == "multiworker",
                    device=device or ("GPU" if on_gpu else "CPU"),
                    steps_per_execution_option=config.steps_per_execution, precision=precision,
                    precision_reason=reason)


def cpu_flags() -> set[str]:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def auto_precision(on_gpu: bool, tf, device: str | None = None) -> tuple[str, str]:
    """(precision, why) for ``--precision auto``: mixed precision only where the hardware runs it natively.

    GPUs: bf16 from compute capability 8.0 (Ampere), float16 with loss scaling from 7.0 (tensor
    cores). CPUs: bf16 with AVX512_BF16 or AMX; elsewhere TensorFlow emulates bf16, which was 5x
    slower than fp32 for resnet20 on an AVX2-only EPYC (docs/benchmarks.md).
    """
    if on_gpu:
        gpus = tf.config.list_physical_devices("GPU")
        index = int(device.rsplit(":", 1)[-1]) if device and device.rsplit(":", 1)[-1].isdigit() else 0
        gpu = gpus[index] if index < len(gpus) else (gpus[0] if gpus else None)  # the one --device picked
        cc = tf.config.experimental.get_device_details(gpu).get("compute_capability") if gpu else None
        if cc and tuple(cc) >= (8, 0):
            return "mixed_bfloat16", f"GPU compute capability {cc[0]}.{cc[1]} runs bf16 natively"
        if cc and tuple(cc) >= (7, 0):
            return "mixed_float16", f"GPU compute capability {cc[0]}.{cc[1]} has float16 tensor cores"
        return "fp32", "this GPU has no fast half-precision units"
    native = sorted(cpu_flags() & {"avx512_bf16", "amx_bf16"})
    if native:
        return "mixed_bfloat16", f"the CPU has {' and '.join(native).upper()}"
    return "fp32", "the CPU has no native bf16 (no AVX512_BF16 or AMX)"


# ----------------------------------------------------------------------------------------------
# The custom loop for MultiWorkerMirroredStrategy


def train_custom_loop(config, data, input_shape, hw: Hardware, *, mode: str, say, progress_console, t_start):
    """Synchronous data-parallel training with ``strategy.run``; only the chief writes ``config.out``.

    Every worker builds the same seeded model and the same per-epoch pipeline; the strategy shards
    each global batch across workers and all-reduces the gradients, so all workers hold identical
    weights after every step. Non-chief workers write into a temporary directory they delete.
    """
    import keras
    import numpy as np
    import tensorflow as tf

    from zoo.io import write_json
    from zoo.run import CONFIG_FILE
    from zoo.training.callbacks import write_history
    from zoo.training.optimizers import make_training_optimizer
    from zoo.training.trainer import TrainResult, build_model, eval_stream, finalize_run, make_loss

    if mode in ("resume", "extend"):
        raise TrainingError("--resume is not supported with --strategy multiworker yet; start a new run (--overwrite).")
    if config.schedule == "plateau" or config.early_stopping or config.adversarial:
        raise InvalidArgumentError("--strategy multiworker supports the step/exponential/cosine/none schedules "
                                   "without --early-stopping or --adversarial.")
    strategy = hw.strategy
    chief = is_chief()
    run_dir = Path(config.out) if chief else Path(tempfile.mkdtemp(prefix="zoo-worker-"))
    global_batch = config.batch_size
    n_train = data.sizes["train"]
    steps_per_epoch = max(1, n_train // global_batch)  # equal step counts on every worker
    with strategy.scope():
        model, loss, lr = build_model(config, data, input_shape, say)
        # the transfer setup's rate for this optimizer only; config.lr stays the user's --lr
        optimizer, _ = make_training_optimizer(model, config if lr is None else replace(config, lr=float(lr)),
                                                steps_per_epoch)
        optimizer.build(model.trainable_variables)
    if loss is None:
        loss = make_loss(config, data.num_classes)
    loss.reduction = None  # per-example losses; averaged over the global batch below

    def step_fn(images, labels):
        with tf.GradientTape() as tape:
            logits = tf.cast(model(images, training=True), tf.float32)
            per_example = loss(labels, logits)
            total = tf.nn.compute_average_loss(per_example, global_batch_size=global_batch)
            if model.losses:
                total += tf.nn.scale_regularization_loss(tf.add_n(model.losses))
        grads = tape.gradient(total, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        correct = tf.reduce_sum(tf.cast(tf.equal(tf.argmax(logits, -1), tf.cast(tf.reshape(labels, [-1]), tf.int64)),
                                        tf.float32))
        return total, correct

    @tf.function
    def train_epoch(iterator, steps):
        loss_sum = tf.constant(0.0)
        correct_sum = tf.constant(0.0)
        for _ in tf.range(steps):
            images, labels = next(iterator)
            per_loss, per_correct = strategy.run(step_fn, args=(images, labels))
            loss_sum += strategy.reduce(tf.distribute.ReduceOp.SUM, per_loss, axis=None)
            correct_sum += strategy.reduce(tf.distribute.ReduceOp.SUM, per_correct, axis=None)
        return loss_sum, correct_sum

    from zoo.data import make_pipeline
    from zoo.evaluation import classification_metrics, predict_logits

    if chief:
        if mode == "overwrite":
            shutil.rmtree(run_dir)
        run_dir.mkdir(parents=True, exist_ok=True)
        write_json(run_dir / CONFIG_FILE, {**config.to_dict(), "input_shape": list(input_shape),
                                           "dataset_sizes": data.sizes, "steps_per_epoch": steps_per_epoch,
                                           "workers": strategy.num_replicas_in_sync})
    val_ds = eval_stream(data, "val", input_shape, max(global_batch, 256))
    source = data.train if getattr(data, "in_memory", False) else data.train.cache()
    history = []
    try:
        for epoch in range(config.epochs):
            t0 = time.perf_counter()
            lr_now = float(keras.ops.convert_to_numpy(optimizer.learning_rate))  # the schedule at this step
            ds = make_pipeline(source, input_shape=input_shape, batch_size=global_batch, training=True,
                               augment=config.augment, seed=config.seed * 100003 + epoch, cache=False)
            iterator = iter(strategy.experimental_distribute_dataset(ds))
            loss_sum, correct_sum = train_epoch(iterator, tf.constant(steps_per_epoch))
            seen = steps_per_epoch * global_batch
            logits, labels = predict_logits(model, val_ds)
            val = classification_metrics(labels, logits, data.class_names)
            val_loss = float(np.mean(keras.ops.convert_to_numpy(
                keras.losses.sparse_categorical_crossentropy(labels, logits, from_logits=True))))
            row = {"epoch": epoch, "accuracy": float(correct_sum) / seen, "loss": float(loss_sum) / steps_per_epoch,
                   "learning_rate": lr_now, "val_accuracy": val["accuracy"], "val_loss": val_loss,
                   "epoch_seconds": round(time.perf_counter() - t0, 3)}
            if not math.isfinite(row["loss"]):
                raise TrainingError(f"Training diverged: the loss became {row['loss']} at epoch {epoch + 1}. "
                                    f"Lower --lr (now {config.lr:g}).")
            history.append(row)
            if chief:
                write_history(run_dir / "history.csv", history)
            if progress_console is not None:
                progress_console.print(
                    f"epoch {epoch + 1:>3}/{config.epochs}  loss {row['loss']:.4f}  acc {row['accuracy']:.4f}  "
                    f"val_loss {val_loss:.4f}  val_acc {val['accuracy']:.4f}  lr {lr_now:.3g}  "
                    f"{row['epoch_seconds']:.1f}s  [{strategy.num_replicas_in_sync} replicas]", highlight=False)
        seconds = time.perf_counter() - t_start
        metrics = {}
        if chief:
            metrics = finalize_run(run_dir, model, data, config, input_shape, history,
                                   extra={"train_seconds": round(seconds, 2),
                                          "replicas": strategy.num_replicas_in_sync})
    finally:
        if not chief:
            shutil.rmtree(run_dir, ignore_errors=True)
    return TrainResult(Path(config.out), config, metrics, history, seconds=seconds, model=model)

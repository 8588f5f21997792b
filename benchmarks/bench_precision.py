"""Accuracy of --precision auto against fp32 (and bf16 mixed precision) on the same short recipe.

``auto`` picks bf16 mixed precision only where the hardware runs it natively (zoo/training/
distributed.py); this script trains the same model with the same seed at fp32, at ``auto`` and at
``mixed_bfloat16`` (what auto chooses on a CPU with AVX512_BF16/AMX or a GPU of compute capability
8.0+), plus fp32 with a second seed for the seed-to-seed noise, and prints test accuracy and wall
time of each. On a CPU without native bf16, auto *is* fp32 and bf16 is emulated (slow); the
accuracy comparison holds anyway.

    .venv/bin/python benchmarks/bench_precision.py                      # simplenet, 3 epochs, 54k images
    .venv/bin/python benchmarks/bench_precision.py --model lenet5 --epochs 2 --limit 20000
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def train_once(model: str, precision: str, seed: int, epochs: int, limit: int | None) -> dict:
    from zoo.training import TrainConfig
    from zoo.training.trainer import train

    with tempfile.TemporaryDirectory() as tmp:
        cfg = TrainConfig(model=model, epochs=epochs, limit=limit, precision=precision, seed=seed,
                          out=os.path.join(tmp, "run"))
        t0 = time.perf_counter()
        result = train(cfg)
        seconds = time.perf_counter() - t0
    return {"precision": precision, "seed": seed, "test_accuracy": result.metrics["accuracy"],
            "seconds": round(seconds, 1)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="simplenet")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--limit", type=int, default=None, help="training images (default: all 60,000 minus val)")
    args = ap.parse_args(argv)
    from zoo.training.distributed import auto_precision

    import tensorflow as tf

    on_gpu = bool(tf.config.list_physical_devices("GPU"))
    auto, why = auto_precision(on_gpu, tf)
    print(f"# load average {os.getloadavg()[0]:.1f}; {args.model}, {args.epochs} epochs, "
          f"limit {args.limit or 'none'}; auto here = {auto} ({why})")
    runs = [("fp32", 0), ("auto", 0), ("mixed_bfloat16", 0), ("fp32", 1)]
    print(f"{'precision':<15} {'seed':>4} {'test acc':>9} {'seconds':>8}")
    rows = []
    for precision, seed in runs:
        r = train_once(args.model, precision, seed, args.epochs, args.limit)
        rows.append(r)
        print(f"{precision:<15} {seed:>4} {r['test_accuracy']:>9.2%} {r['seconds']:>8.1f}", flush=True)
    fp32 = rows[0]["test_accuracy"]
    print(f"# auto - fp32: {100 * (rows[1]['test_accuracy'] - fp32):+.2f} points; bf16 - fp32: "
          f"{100 * (rows[2]['test_accuracy'] - fp32):+.2f} points; fp32 seed 1 - seed 0 (noise): "
          f"{100 * (rows[3]['test_accuracy'] - fp32):+.2f} points")
    return 0


if __name__ == "__main__":
    sys.exit(main())

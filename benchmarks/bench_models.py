"""Models: what `zoo models` costs, and how fast the small-input variants train, relative to peers.

1. Counting params + FLOPs of every registry model the way `zoo models` does (weights never
   allocated) vs the obvious way (build each model for real, then count) -- same numbers, checked.
2. Training throughput of each small-input model on 28x28x1 batches of 128 (compiled train step,
   Adam), as a ratio to simplenet, the default model, measured in the same run.

Usage: .venv/bin/python benchmarks/bench_models.py [--steps 15]
"""

from __future__ import annotations

import argparse
import gc
import resource
import time

import numpy as np


def cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def timed(fn):
    w, c = time.perf_counter(), cpu_seconds()
    out = fn()
    return out, time.perf_counter() - w, cpu_seconds() - c


def count_all_weightless(specs):
    from zoo.flops import model_stats

    return {s.name: model_stats(s.name).trainable_params for s in specs}


def count_all_allocated(specs):
    import keras

    from zoo.flops import count_params
    from zoo.registry import create_model

    out = {}
    for s in specs:
        model = create_model(s.name)
        out[s.name] = count_params(model)[0]
        del model
        keras.backend.clear_session()
        gc.collect()
    return out


def train_throughput(name: str, steps: int, batch: int = 128) -> tuple[float, float]:
    """(images per wall second, images per CPU second) of compiled train steps after warm-up."""
    import keras

    from zoo.registry import create_model

    keras.utils.set_random_seed(0)
    model = create_model(name, input_shape=(28, 28, 1), num_classes=10)
    model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, (batch, 28, 28, 1)).astype("float32")
    y = rng.integers(0, 10, batch)
    for _ in range(3):  # trace + warm up
        model.train_on_batch(x, y)
    _, wall, cpu = timed(lambda: [model.train_on_batch(x, y) for _ in range(steps)])
    return steps * batch / wall, steps * batch / cpu


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=15)
    args = parser.parse_args()

    from zoo.catalog import catalog_order
    from zoo.registry import list_models

    specs = sorted(list_models(), key=catalog_order)
    print(f"load average {open('/proc/loadavg').read().split()[0]}")
    fast, fw, fc = timed(lambda: count_all_weightless(specs))
    slow, sw, sc = timed(lambda: count_all_allocated(specs))
    assert fast == slow, "weightless counts differ from allocated-model counts"
    print(f"\n| counting {len(specs)} models | wall s | CPU s | x weightless (CPU) |")
    print("|---|---:|---:|---:|")
    print(f"| params + FLOPs, weights not allocated (`zoo models`) | {fw:.1f} | {fc:.1f} | 1.0 |")
    print(f"| params only, models built for real | {sw:.1f} | {sc:.1f} | {sc / fc:.1f} |")

    small = [s.name for s in specs if s.small_input]
    rows = [(name, *train_throughput(name, args.steps)) for name in small]
    base = dict((n, c) for n, _, c in rows)["simplenet"]
    print("\n| model (28x28x1, batch 128, Adam) | img/s | img/CPU-s | x simplenet (CPU) |")
    print("|---|---:|---:|---:|")
    for name, ips, ipc in rows:
        print(f"| {name} | {ips:,.0f} | {ipc:,.0f} | {ipc / base:.2f} |")


if __name__ == "__main__":
    main()

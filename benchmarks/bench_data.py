"""Input-pipeline throughput per augmentation preset, next to what simplenet training consumes.

    .venv/bin/python benchmarks/bench_data.py [--batch-size 128] [--batches 150] [--repeats 5]

Measured in one run on Fashion-MNIST train (28x28x1, the embedded IDX files):

* pipeline, per preset: images/s delivered by ``make_pipeline(..., training=True, augment=P)``
  (shuffle, batch, convert, augment, prefetch), iterated with nothing downstream;
* simplenet: images/s of ``model.fit`` (Adam, from-logits loss) on the ``standard`` pipeline,
  the peer: how fast training consumes what the pipeline makes.

Goal: ``standard`` delivers >= 10x what simplenet training consumes. Two figures per row, from
``--repeats`` interleaved timings after a warm-up pass (graph tracing excluded):

* images/s, wall clock, best of the repeats (the run least disturbed by other processes);
* images per CPU-second of this process (all threads), median: the work itself, which a busy
  shared machine disturbs far less than wall time. For ``model.fit`` it includes feeding it.
"""

from __future__ import annotations

import argparse
import statistics
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--batches", type=int, default=150, help="batches per timing")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--presets", default="none,light,standard,strong")
    args = parser.parse_args()

    import keras

    from zoo.data import load_dataset, make_pipeline
    from zoo.registry import create_model

    keras.utils.set_random_seed(0)
    data = load_dataset("fashion_mnist")
    shape = data.image_shape
    bs, k = args.batch_size, args.batches
    presets = [p.strip() for p in args.presets.split(",") if p.strip()]

    pipelines = {
        p: make_pipeline(data.train, input_shape=shape, batch_size=bs, training=True, augment=p, seed=0).repeat()
        for p in presets
    }

    def drain(preset):
        # A fresh iterator per timing, dropped afterwards: no prefetching in the background while
        # something else is timed. Three warm-up batches fill the shuffle and prefetch buffers.
        it = iter(pipelines[preset])
        for _ in range(3):
            next(it)
        t0, c0 = time.perf_counter(), time.process_time()
        for _ in range(k):
            next(it)
        return time.perf_counter() - t0, time.process_time() - c0

    model = create_model("simplenet", input_shape=shape, num_classes=data.num_classes)
    model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    train_ds = make_pipeline(data.train, input_shape=shape, batch_size=bs, training=True,
                             augment="standard", seed=0).repeat()

    def fit():
        t0, c0 = time.perf_counter(), time.process_time()
        model.fit(train_ds, epochs=1, steps_per_epoch=k, verbose=0)
        return time.perf_counter() - t0, time.process_time() - c0

    jobs = {f"pipeline {p}": (lambda p=p: drain(p)) for p in presets}
    jobs["simplenet model.fit (standard)"] = fit
    for job in jobs.values():  # warm-up: tracing, first-batch costs
        job()
    wall = {name: [] for name in jobs}
    cpu = {name: [] for name in jobs}
    for _ in range(args.repeats):  # interleaved, so load from other processes hits all alike
        for name, job in jobs.items():
            w, c = job()
            wall[name].append(w)
            cpu[name].append(c)

    n = k * bs
    rate = {name: n / min(ts) for name, ts in wall.items()}
    cpu_rate = {name: n / statistics.median(ts) for name, ts in cpu.items()}
    peer = "simplenet model.fit (standard)"
    print(f"Fashion-MNIST train 28x28x1, batch {bs}, {k} batches per timing, {args.repeats} repeats")
    print(f"{'what':32s} {'images/s':>10s} {'x fit':>7s} {'img/CPU-s':>10s} {'x fit':>7s}")
    for name in jobs:
        print(f"{name:32s} {rate[name]:10.0f} {rate[name] / rate[peer]:7.1f} "
              f"{cpu_rate[name]:10.0f} {cpu_rate[name] / cpu_rate[peer]:7.1f}")
    if "standard" in presets:
        w = rate["pipeline standard"] / rate[peer]
        c = cpu_rate["pipeline standard"] / cpu_rate[peer]
        verdict = "met" if min(w, c) >= 10 else "NOT met"
        print(f"goal: standard >= 10x simplenet training: {w:.1f}x wall, {c:.1f}x CPU -> {verdict}")

if __name__ == "__main__":
    main()

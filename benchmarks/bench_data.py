"""Input-pipeline throughput per augmentation preset, next to what simplenet training consumes.

    .venv/bin/python benchmarks/bench_data.py [--batch-size 128] [--batches 150] [--repeats 3]

Measured in one run on Fashion-MNIST train (28x28x1, the embedded IDX files):

* pipeline, per preset: images/s delivered by ``make_pipeline(..., training=True, augment=P)``
  (shuffle, batch, convert, augment, prefetch), iterated with nothing downstream;
* simplenet: images/s of ``model.fit`` (Adam, from-logits loss) on the ``standard`` pipeline,
  the peer: how fast training consumes what the pipeline makes.

Goal: ``standard`` delivers >= 10x what simplenet training consumes. Each figure is the median of
``--repeats`` interleaved timings after a warm-up pass (graph tracing excluded).
"""

from __future__ import annotations

import argparse
import statistics
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--batches", type=int, default=150, help="batches per timing")
    parser.add_argument("--repeats", type=int, default=3)
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

    # Iterators live across timings, like a training loop's: tracing happens once, in the warm-up.
    iterators = {
        p: iter(make_pipeline(data.train, input_shape=shape, batch_size=bs, training=True, augment=p, seed=0)
                .repeat())
        for p in presets
    }

    def drain(preset):
        it = iterators[preset]
        for _ in range(k):
            next(it)

    model = create_model("simplenet", input_shape=shape, num_classes=data.num_classes)
    model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    train_ds = make_pipeline(data.train, input_shape=shape, batch_size=bs, training=True,
                             augment="standard", seed=0).repeat()

    def fit():
        model.fit(train_ds, epochs=1, steps_per_epoch=k, verbose=0)

    jobs = {f"pipeline {p}": (lambda p=p: drain(p)) for p in presets}
    jobs["simplenet model.fit (standard)"] = fit
    for job in jobs.values():  # warm-up: tracing, first-batch costs
        job()
    times = {name: [] for name in jobs}
    for _ in range(args.repeats):  # interleaved, so load from other processes hits all alike
        for name, job in jobs.items():
            t0 = time.perf_counter()
            job()
            times[name].append(time.perf_counter() - t0)

    rate = {name: k * bs / statistics.median(ts) for name, ts in times.items()}
    train_rate = rate["simplenet model.fit (standard)"]
    print(f"Fashion-MNIST train, batch {bs}, {k} batches per timing, median of {args.repeats}")
    print(f"{'what':34s} {'images/s':>10s} {'x simplenet':>12s}")
    for name, r in rate.items():
        print(f"{name:34s} {r:10.0f} {r / train_rate:12.1f}")
    if "standard" in presets:
        ratio = rate["pipeline standard"] / train_rate
        print(f"goal: standard >= 10x simplenet training: {ratio:.1f}x -> {'met' if ratio >= 10 else 'NOT met'}")


if __name__ == "__main__":
    main()

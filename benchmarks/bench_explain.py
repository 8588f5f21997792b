"""SmoothGrad throughput: the batched, compiled engine against per-image Python loops, in one run.

    .venv/bin/python benchmarks/bench_explain.py [--run RUN_DIR] [--images 100] [--samples 50]

Fashion-MNIST test images, SmoothGrad n=50, noise 0.15 on a small trained model (simplenet,
trained here for one short epoch unless ``--run`` names a run directory). Measured in one run:

* batched: ``GradientEngine.smoothgrad`` (images x samples flattened into chunks of
  ``--batch-size`` inside one ``tf.function``), for each batch size given;
* loop per image, compiled step: a Python loop over images calling a ``tf.function`` that takes
  one image's 50 noisy copies as a batch (the strongest per-image peer);
* loop per image, eager: the same step without ``tf.function``;
* loop per image and sample: the textbook form, one eager ``GradientTape`` per noisy copy (timed
  on ``--textbook-images`` images, reported at the same rate for all).

All three use the same stateless noise, so their maps must agree (checked). Goal: batched >= 10x
the per-image loop. Times are medians of ``--repeats`` (loops: ``--loop-repeats``) runs after a
warm-up (tracing excluded; the first, tracing call of the batched engine is reported separately).
"""

from __future__ import annotations

import argparse
import statistics
import time


def trained_simplenet(epochs_images: int):
    import keras
    import numpy as np

    from zoo.data import load_examples
    from zoo.models.common import set_standardization
    from zoo.registry import create_model

    x, y, names = load_examples("fashion_mnist", split="train", n=epochs_images)
    model = create_model("simplenet", input_shape=x.shape[1:], num_classes=len(names))
    set_standardization(model, float(np.mean(x / 255)), float(np.var(x / 255)))
    model.compile(keras.optimizers.Adam(1e-3), keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    model.fit(x, y, batch_size=128, epochs=1, verbose=0)
    return model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", help="run directory or .keras file (default: train simplenet briefly)")
    parser.add_argument("--images", type=int, default=100)
    parser.add_argument("--samples", type=int, default=50)
    parser.add_argument("--noise", type=float, default=0.15)
    parser.add_argument("--batch-sizes", default="64,256")
    parser.add_argument("--repeats", type=int, default=3, help="timings of each batched run")
    parser.add_argument("--loop-repeats", type=int, default=1, help="timings of each (slow) loop peer")
    parser.add_argument("--textbook-images", type=int, default=10,
                        help="images for the per-image-and-sample loop (scaled to all images by rate)")
    parser.add_argument("--train-images", type=int, default=12000)
    args = parser.parse_args()

    import keras
    import numpy as np
    import tensorflow as tf

    from zoo.data import load_examples
    from zoo.explain.saliency import PIXEL_RANGE, GradientEngine

    keras.utils.set_random_seed(0)
    if args.run:
        from zoo.run import load_model

        model = load_model(args.run)
    else:
        model = trained_simplenet(args.train_images)
    images, labels, _ = load_examples("fashion_mnist", split="test", n=args.images)
    images = images.astype("float32")
    n, k, seed = len(images), args.samples, 0
    sigma = args.noise * PIXEL_RANGE
    targets = np.asarray(model(images, training=False)).argmax(1).astype("int32")
    shape = images.shape[1:]

    def loop_per_sample(count):
        out = np.zeros_like(images[:count])
        for i in range(count):
            for j in range(k):
                noise = tf.random.stateless_normal(shape, seed=tf.constant([seed * 1_000_003 + i, j], tf.int64))
                x = tf.constant(images[i:i + 1]) + sigma * noise[None]
                with tf.GradientTape() as tape:
                    tape.watch(x)
                    logit = model(x, training=False)[0, targets[i]]
                out[i] += tape.gradient(logit, x)[0].numpy()
        return out / k

    def one_image(i, image, target):
        # the image's k noisy copies as one batch: the same noise streams as the engine
        keys = tf.stack([tf.fill([k], seed * 1_000_003 + i), tf.range(k, dtype=tf.int64)], 1)
        noise = tf.map_fn(lambda s: tf.random.stateless_normal(shape, seed=s), keys,
                          fn_output_signature=tf.TensorSpec(shape, tf.float32))
        x = image[None] + sigma * noise
        with tf.GradientTape() as tape:
            tape.watch(x)
            logits = model(x, training=False)[:, target]
        return tf.reduce_mean(tape.gradient(logits, x), 0)

    one_image_compiled = tf.function(one_image)

    def loop_per_image(fn):
        out = np.zeros_like(images)
        for i in range(n):
            out[i] = fn(tf.constant(i, tf.int64), tf.constant(images[i]), tf.constant(targets[i])).numpy()
        return out

    def timed(fn, repeats):
        times, result = [], None
        for _ in range(repeats):
            t0 = time.perf_counter()
            result = fn()
            times.append(time.perf_counter() - t0)
        return statistics.median(times), result

    items = n * k
    rows = []
    reference = None
    for bs in [int(b) for b in args.batch_sizes.split(",")]:
        engine = GradientEngine(model, batch_size=bs)
        t0 = time.perf_counter()
        engine.smoothgrad(images, targets, samples=k, noise=args.noise, seed=seed)
        cold = time.perf_counter() - t0
        t, maps = timed(lambda: engine.smoothgrad(images, targets, samples=k, noise=args.noise, seed=seed),
                        args.repeats)
        reference = maps if reference is None else reference
        np.testing.assert_allclose(maps, reference, rtol=1e-4, atol=1e-6 * np.abs(reference).max())
        rows.append((f"batched, compiled (batch {bs})", t, f"first call incl. tracing {cold:.2f} s"))
        print(f"  {rows[-1][0]}: {t:.2f} s", flush=True)
    # same noise, same maths: only float summation order differs (oneDNN picks kernels per batch shape)
    tolerance = {"rtol": 1e-3, "atol": 1e-3 * float(np.abs(reference).max())}
    n_batched = len(rows)
    for name, fn in (("loop per image, compiled step (k copies batched)", one_image_compiled),
                     ("loop per image, eager (k copies batched)", one_image)):
        loop_per_image(fn)  # warm-up: tracing / Keras's eager call path
        t, maps = timed(lambda: loop_per_image(fn), args.loop_repeats)
        np.testing.assert_allclose(maps, reference, **tolerance)
        rows.append((name, t, ""))
        print(f"  {name}: {t:.2f} s", flush=True)
    # the textbook loop is ~100x slower: timed on the first --textbook-images only, compared by rate
    m = min(args.textbook_images, n)
    t, maps = timed(lambda: loop_per_sample(m), 1)
    np.testing.assert_allclose(maps, reference[:m], **tolerance)
    rows.append((f"loop per image and sample, eager ({m} images)", t * n / m, f"timed {t:.1f} s on {m} images"))
    print(f"  textbook loop: {t:.2f} s for {m} images", flush=True)

    best = min(t for _, t, _ in rows[:n_batched])
    t_img = rows[n_batched][1]
    print(f"SmoothGrad n={k}, noise {args.noise}, {n} Fashion-MNIST test images ({items} gradients), "
          f"model {model.name}, {tf.config.threading.get_intra_op_parallelism_threads() or 'default'} threads")
    print(f"{'variant':52s} {'seconds':>8s} {'grads/s':>9s} {'vs best batched':>15s}")
    for name, t, note in rows:
        print(f"{name:52s} {t:8.2f} {items / t:9.0f} {t / best:14.1f}x  {note}")
    print(f"speed-up of the best batched run over the per-image loop with a compiled step: {t_img / best:.1f}x, "
          f"over the eager per-image loop: {rows[n_batched + 1][1] / best:.1f}x, over the textbook loop: "
          f"{rows[-1][1] / best:.1f}x (goal >= 10x); all maps agree.")


if __name__ == "__main__":
    main()

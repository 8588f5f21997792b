"""FGSM over the whole Fashion-MNIST test set, as a multiple of one evaluation pass of the same model.

    .venv/bin/python benchmarks/bench_attack.py [--model simplenet] [--batch-size 256] [--repeats 3]

Measured in one run, on the same 10,000 images and batches:

* eval: one pass of ``zoo.evaluation.logits_and_labels`` over the batched test pipeline (the peer);
* fgsm, 1 eps: craft FGSM examples (forward + backward) and classify them (forward);
* fgsm, 5 eps: one gradient pass shared by eps 2,4,8,16,32 (FGSM's gradient does not depend on
  eps), then the five adversarial batches classified together; reported per eps.

Goal: fgsm <= 3x eval per eps. Each measurement runs ``--repeats`` times, interleaved with the
others, after a warm-up run (tracing excluded); ratios are given for the best run of each (the
least disturbed by other processes on a shared machine) and for the medians. The model is a freshly initialised registry model: speed does not depend on
the weights.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="simplenet")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--n", type=int, default=10000)
    args = parser.parse_args()

    import keras

    from zoo.attack import methods as M
    from zoo.data import load_dataset, load_examples, make_pipeline
    from zoo.evaluation import logits_and_labels
    from zoo.registry import create_model

    keras.utils.set_random_seed(0)
    model = create_model(args.model)
    shape = tuple(int(d) for d in model.inputs[0].shape[1:])
    images, labels, _ = load_examples("fashion_mnist", "test", args.n, input_shape=shape)
    data = load_dataset("fashion_mnist", limit=args.n)
    ds = make_pipeline(data.split("test"), input_shape=shape, batch_size=args.batch_size, training=False)

    bs = args.batch_size
    eps_list = [2.0, 4.0, 8.0, 16.0, 32.0]

    def evaluate():
        logits_and_labels(model, ds)

    def fgsm_one():
        M.fgsm_multi(model, images, labels, [8.0], batch_size=bs)

    def fgsm_five():
        M.fgsm_multi(model, images, labels, eps_list, batch_size=bs)

    # Interleaved repeats, so that load from other processes hits every measurement alike.
    jobs = {"eval": evaluate, "one": fgsm_one, "five": fgsm_five}
    for fn in jobs.values():
        fn()  # warm-up: traces the graphs
    times = {k: [] for k in jobs}
    for _ in range(args.repeats):
        for k, fn in jobs.items():
            start = time.perf_counter()
            fn()
            times[k].append(time.perf_counter() - start)
    print(f"model {args.model}, {len(images)} images {shape}, batch {bs}, {args.repeats} interleaved repeats")
    print("| measurement | best s | x eval (best) | median s | x eval (median) |")
    print("| --- | ---: | ---: | ---: | ---: |")
    best = {k: min(v) for k, v in times.items()}
    med = {k: statistics.median(v) for k, v in times.items()}
    rows = [("eval pass (zoo.evaluation.logits_and_labels)", "eval", 1), ("FGSM, 1 eps (craft + classify)", "one", 1),
            ("FGSM, 5 eps (one gradient pass), per eps", "five", 5)]
    for label, key, per in rows:
        print(f"| {label} | {best[key] / per:.2f} | {best[key] / per / best['eval']:.2f} | "
              f"{med[key] / per:.2f} | {med[key] / per / med['eval']:.2f} |")
    ratios = [o / e for o, e in zip(times["one"], times["eval"])]
    one = best["one"] / best["eval"]
    print(f"goal <= 3x per eps: 1 eps {one:.2f}x best-of ({'meets' if one <= 3 else 'misses'}), "
          f"{med['one'] / med['eval']:.2f}x median; per-repeat ratios {', '.join(f'{r:.2f}' for r in ratios)}; "
          f"5 eps {best['five'] / 5 / best['eval']:.2f}x per eps best-of")


if __name__ == "__main__":
    np.set_printoptions(precision=3)
    main()

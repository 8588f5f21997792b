"""FGSM over the whole Fashion-MNIST test set, as a multiple of one evaluation pass of the same model.

    .venv/bin/python benchmarks/bench_attack.py [--model simplenet] [--batch-size 256] [--repeats 3]

Measured in one run, on the same 10,000 images and batches:

* eval: one pass of ``zoo.evaluation.predict_logits`` over the batched test pipeline (the peer);
* fgsm, 1 eps: craft FGSM examples (forward + backward) and classify them (forward);
* fgsm, 5 eps: one gradient pass shared by eps 2,4,8,16,32 (FGSM's gradient does not depend on
  eps), then the five adversarial batches classified together; reported per eps.

Goal: fgsm <= 3x eval per eps. Each timing is the median of ``--repeats`` interleaved runs after a
warm-up run (tracing excluded). The model is a freshly initialised registry model: speed does not depend on
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
    from zoo.evaluation import predict_logits
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
        predict_logits(model, ds)

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
    t_eval, t_one, t_five = (statistics.median(times[k]) for k in jobs)
    ratios = [o / e for o, e in zip(times["one"], times["eval"])]
    print(f"model {args.model}, {len(images)} images {shape}, batch {bs}, median of {args.repeats} interleaved repeats")
    print("| measurement | seconds | x eval pass |")
    print("| --- | ---: | ---: |")
    print(f"| eval pass (predict_logits) | {t_eval:.2f} | 1.00 |")
    print(f"| FGSM, 1 eps (craft + classify) | {t_one:.2f} | {t_one / t_eval:.2f} |")
    print(f"| FGSM, 5 eps (one gradient pass), per eps | {t_five / 5:.2f} | {t_five / 5 / t_eval:.2f} |")
    print(f"| FGSM, 5 eps, total | {t_five:.2f} | {t_five / t_eval:.2f} |")
    verdict = "meets" if t_one / t_eval <= 3.0 else "misses"
    print(f"goal <= 3x per eps: 1 eps {t_one / t_eval:.2f}x ({verdict}; per-repeat ratios "
          f"{', '.join(f'{r:.2f}' for r in ratios)}), 5 eps {t_five / 5 / t_eval:.2f}x per eps")


if __name__ == "__main__":
    np.set_printoptions(precision=3)
    main()

"""Experiment for docs/ensemble.md: three different small zoo models on Fashion-MNIST, their
max-vote, and the independence prediction next to the measured vote error.

    .venv/bin/python benchmarks/exp_ensemble.py --out runs/exp_ensemble
    .venv/bin/zoo ensemble runs/exp_ensemble/simplenet runs/exp_ensemble/lenet5 \
        runs/exp_ensemble/vgg_small --out runs/exp_ensemble/vote

Each member is trained with the library (Adam 1e-3, batch 128, a few epochs, its own shuffle
seed) and saved as a run directory (model.keras + config.json) that `zoo ensemble` accepts.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path


def train_member(name: str, epochs: int, seed: int, out: Path, limit: int | None) -> dict:
    import keras

    from zoo.data import channel_stats, load_dataset, make_pipeline
    from zoo.evaluation import logits_and_labels
    from zoo.io import atomic_path, write_json
    from zoo.models.common import set_standardization
    from zoo.registry import create_model

    keras.utils.set_random_seed(seed)
    data = load_dataset("fashion_mnist", val_fraction=0.1, seed=0, limit=limit)
    shape = (28, 28, 1)
    model = create_model(name, shape, data.num_classes)
    set_standardization(model, *channel_stats(data, shape))
    model.compile(optimizer=keras.optimizers.Adam(1e-3),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    train = make_pipeline(data.train, input_shape=shape, batch_size=128, training=True, seed=seed)
    val = make_pipeline(data.val, input_shape=shape, batch_size=512, training=False)
    t0 = time.time()
    hist = model.fit(train, validation_data=val, epochs=epochs, verbose=2)
    seconds = time.time() - t0
    logits, labels = logits_and_labels(model, make_pipeline(data.test, input_shape=shape, batch_size=512, training=False))
    acc = float((logits.argmax(1) == labels).mean())
    run = out / name
    run.mkdir(parents=True, exist_ok=True)
    with atomic_path(run / "model.keras") as tmp:
        model.save(tmp)
    write_json(run / "config.json", {
        "model": name, "dataset": "fashion_mnist", "epochs": epochs, "batch_size": 128, "optimizer": "adam",
        "lr": 1e-3, "seed": seed, "limit": limit, "class_names": data.class_names, "num_classes": data.num_classes,
        "input_shape": list(shape),
    })
    result = {"model": name, "test_accuracy": acc, "train_seconds": seconds,
              "val_accuracy": float(hist.history["val_accuracy"][-1])}
    write_json(run / "metrics.json", result)
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="runs/exp_ensemble")
    ap.add_argument("--models", default="simplenet:3,lenet5:5,vgg_small:2", help="name:epochs,...")
    ap.add_argument("--limit", type=int, default=None, help="cap examples per split")
    args = ap.parse_args()
    out = Path(args.out)
    results = []
    for i, item in enumerate(args.models.split(",")):
        name, epochs = item.split(":")
        if (out / name / "metrics.json").is_file():  # resume: keep members already trained
            results.append(json.loads((out / name / "metrics.json").read_text()))
            continue
        results.append(train_member(name, int(epochs), seed=i, out=out, limit=args.limit))
        print(json.dumps(results[-1]), flush=True)

    from zoo.ensemble_task import evaluate_ensemble

    runs = [str(out / item.split(":")[0]) for item in args.models.split(",")]
    for method in ("vote", "soft"):
        report = evaluate_ensemble(runs, ensemble=method, dataset="fashion_mnist", split="test", batch_size=512,
                                   out=out / f"report_{method}")
        print(json.dumps({"method": method, "accuracy": report["accuracy"],
                          "best_member": report["best_member"]}), flush=True)


if __name__ == "__main__":
    main()

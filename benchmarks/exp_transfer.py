"""Experiment for docs/transfer.md: learn Fashion-MNIST classes 0-4 (tops), transfer to 5-9
(sandal, shirt, sneaker, bag, ankle boot) with 10, 100 and 1,000 labelled examples per class.

    .venv/bin/python benchmarks/exp_transfer.py --out runs/exp_transfer

Compares, on the full 5,000-image test set of classes 5-9: training simplenet from scratch,
feature extraction (frozen base, new softmax head), fine-tuning (all layers, 0.1x LR) and the
linear SVM head (frozen base, multiclass hinge + L2), and what ``--transfer auto`` picks.
Label subsets are written as .npz datasets (``npz:PATH``), so the source run's config.json names
its data and the auto rule can measure the feature distance between old and new data.
"""

from __future__ import annotations

import argparse
import json
import time
import types
from pathlib import Path

import numpy as np

MODEL = "simplenet"
SHAPE = (28, 28, 1)
SOURCE_CLASSES = [0, 1, 2, 3, 4]
TARGET_CLASSES = [5, 6, 7, 8, 9]
METHODS = ("scratch", "feature-extract", "finetune", "svm", "auto", "finetune-1x")


def fashion_arrays():
    from zoo.data import load_dataset

    data = load_dataset("fashion_mnist", val_fraction=0.0)
    out = {}
    for split in ("train", "test"):
        xs, ys = zip(*[(x, y) for x, y in data.split(split).batch(10000).as_numpy_iterator()])
        out[split] = (np.concatenate(xs), np.concatenate(ys))
    return out, data.class_names


def write_subsets(out: Path, per_class_list, seed: int = 0) -> dict:
    """npz files: the source (classes 0-4, all train) and target subsets (classes 5-9 -> 0-4)."""
    arrays, names = fashion_arrays()
    rng = np.random.default_rng(seed)
    paths = {}
    (xtr, ytr), (xte, yte) = arrays["train"], arrays["test"]
    src = np.isin(ytr, SOURCE_CLASSES)
    src_te = np.isin(yte, SOURCE_CLASSES)
    paths["source"] = out / "source_0-4.npz"
    if not paths["source"].is_file():
        np.savez(paths["source"], x_train=xtr[src], y_train=ytr[src], x_test=xte[src_te], y_test=yte[src_te],
                 class_names=np.array(names[:5]))
    tgt_te = np.isin(yte, TARGET_CLASSES)
    for per_class in per_class_list:
        idx = np.concatenate([rng.choice(np.flatnonzero(ytr == c), per_class, replace=False) for c in TARGET_CLASSES])
        rng.shuffle(idx)
        paths[per_class] = out / f"target_5-9_{per_class}.npz"
        if paths[per_class].is_file():  # a later run adding methods or seeds reuses the same examples
            continue
        np.savez(paths[per_class], x_train=xtr[idx], y_train=ytr[idx] - 5, x_test=xte[tgt_te],
                 y_test=yte[tgt_te] - 5, class_names=np.array(names[5:]))
    return paths


def fit(model, data, *, loss=None, lr=1e-3, steps: int, seed: int) -> float:
    """Train for about ``steps`` batches of 32 (at least 2 epochs); returns the test accuracy."""
    import keras

    from zoo.data import make_pipeline
    from zoo.evaluation import logits_and_labels

    n = data.sizes["train"]
    batch = 32
    epochs = max(2, int(np.ceil(steps / max(1, n // batch))))
    model.compile(optimizer=keras.optimizers.Adam(lr),
                  loss=loss or keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    train = make_pipeline(data.train, input_shape=SHAPE, batch_size=batch, training=True, seed=seed)
    model.fit(train, epochs=epochs, verbose=0)
    logits, labels = logits_and_labels(model, make_pipeline(data.test, input_shape=SHAPE, batch_size=1000, training=False))
    return float((logits.argmax(1) == labels).mean())


def train_source(path: Path, run: Path, epochs: int) -> float:
    import keras

    from zoo.data import channel_stats, load_dataset
    from zoo.io import atomic_path, write_json
    from zoo.models.common import set_standardization
    from zoo.registry import create_model

    keras.utils.set_random_seed(0)
    data = load_dataset(f"npz:{path}", val_fraction=0.0)
    model = create_model(MODEL, SHAPE, data.num_classes)
    set_standardization(model, *channel_stats(data, SHAPE))
    acc = fit(model, data, steps=epochs * (data.sizes["train"] // 32), seed=0)
    run.mkdir(parents=True, exist_ok=True)
    with atomic_path(run / "model.keras") as tmp:
        model.save(tmp)
    write_json(run / "config.json", {"model": MODEL, "dataset": f"npz:{path}", "class_names": data.class_names,
                                     "epochs": epochs, "optimizer": "adam", "lr": 1e-3})
    write_json(run / "metrics.json", {"test_accuracy": acc})
    return acc


def run_method(method: str, source_run: Path, data, steps: int, seed: int) -> tuple[float, str]:
    import keras

    from zoo.data import channel_stats
    from zoo.models.common import set_standardization
    from zoo.registry import create_model
    from zoo.training.transfer import prepare_transfer

    keras.utils.set_random_seed(seed)
    if method == "scratch":
        model = create_model(MODEL, SHAPE, data.num_classes)
        set_standardization(model, *channel_stats(data, SHAPE))
        return fit(model, data, steps=steps, seed=seed), "simplenet from random weights"
    # "finetune-1x": fine-tuning at the from-scratch LR instead of prepare_transfer's 0.1x
    mode = "finetune" if method == "finetune-1x" else method
    config = types.SimpleNamespace(model=MODEL, transfer_from=str(source_run), transfer=mode, unfreeze=None,
                                   lr=1e-3, optimizer="adam", seed=seed)
    setup = prepare_transfer(config, data, SHAPE, data.num_classes)
    lr = 1e-3 if method == "finetune-1x" else (setup.learning_rate or 1e-3)
    acc = fit(setup.model, data, loss=setup.loss, lr=lr, steps=steps, seed=seed)
    return acc, setup.message


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="runs/exp_transfer")
    ap.add_argument("--per-class", default="10,100,1000")
    ap.add_argument("--source-epochs", type=int, default=3)
    ap.add_argument("--steps", type=int, default=300, help="training batches (of 32) per method, at least 2 epochs")
    ap.add_argument("--seeds", type=int, default=1, help="repeat each cell with this many seeds (mean reported)")
    ap.add_argument("--methods", default=",".join(METHODS), help="subset of " + ",".join(METHODS))
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    sizes = [int(v) for v in args.per_class.split(",")]
    paths = write_subsets(out, sizes)
    source_run = out / "source"
    if not (source_run / "metrics.json").is_file():
        t0 = time.time()
        acc = train_source(paths["source"], source_run, args.source_epochs)
        print(json.dumps({"source_test_accuracy_0-4": acc, "seconds": time.time() - t0}), flush=True)

    from zoo.data import load_dataset
    from zoo.training.transfer import load_source
    from zoo.training.transfer_rule import choose_mode, transfer_distance

    src_model, info = load_source(str(source_run))
    results_file = out / "results.json"
    # merge into earlier results, so extra methods or seeds can be added run by run
    results = json.loads(results_file.read_text()) if results_file.is_file() else {}
    methods = [m for m in args.methods.split(",") if m]
    for per_class in sizes:
        data = load_dataset(f"npz:{paths[per_class]}", val_fraction=0.0)
        distance = transfer_distance(src_model, info, data)
        mode, unfreeze, reason = choose_mode(data.sizes["train"] / data.num_classes, distance)
        row = results.get(str(per_class), {})
        row.update({"distance": distance, "auto_mode": mode, "auto_unfreeze": unfreeze, "reason": reason,
                    "train_examples": data.sizes["train"], "test_examples": data.sizes["test"]})
        for method in methods:
            t0 = time.time()
            accs = [run_method(method, source_run, data, args.steps, seed)[0] for seed in range(args.seeds)]
            row[method] = float(np.mean(accs))
            row[f"{method}_all"] = accs
            row[f"{method}_seconds"] = time.time() - t0
            row[f"{method}_seeds"] = args.seeds
            print(json.dumps({"per_class": per_class, "method": method, "accuracy": row[method]}), flush=True)
        results[str(per_class)] = row
        results_file.write_text(json.dumps(results, indent=2))
    # also: same-distribution distance (source data vs itself, another sample) for calibration
    same = load_dataset(f"npz:{paths['source']}", val_fraction=0.0)
    results["calibration_same_distribution"] = transfer_distance(src_model, info, type("D", (), {"train": same.test, "sizes": {}})())
    results_file.write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()

"""The accelerator check (issue 22): Keras on JAX and PyTorch, no TensorFlow, timings and results in JSON.

    python scripts/gpu_check.py --out gpu_check.json            # jax and torch, each in its own process
    python scripts/gpu_check.py --backend torch --epochs 2 --limit 6000 --out torch.json

For each backend (KERAS_BACKEND, one interpreter each): the device and versions; the shipped resnet20's
Fashion-MNIST test accuracy against its manifest (``shipped``); resnet20 trained from scratch for
``--epochs`` epochs on the embedded arrays, through ``zoo.train`` (the NumPy data path, img/s per epoch,
test accuracy); every explain method and FGSM/PGD on the shipped model (seconds, robust accuracy). It
runs where TensorFlow is not installed (that is the point); on a CPU it runs too, slowly (tests use a
tiny ``--limit``). Exit status 1 when a check fails (an error, or the shipped accuracy off its
manifest by more than 0.2 points), with the JSON written either way.
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

BACKENDS = ("jax", "torch")
SHIPPED = "resnet20"
TOLERANCE = 0.002  # of test accuracy: float sums in another order may flip an image or two of 10,000


def device_of(backend: str) -> dict:
    if backend == "jax":
        import jax

        d = jax.devices()[0]
        return {"platform": d.platform, "name": getattr(d, "device_kind", str(d)), "jax": jax.__version__}
    import torch

    on_gpu = torch.cuda.is_available()
    return {"platform": "gpu" if on_gpu else "cpu", "name": torch.cuda.get_device_name(0) if on_gpu else "cpu",
            "torch": torch.__version__}


def timed(fn):
    start = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - start


def check_backend(args, out: dict) -> dict:
    """One backend's checks, in this interpreter (KERAS_BACKEND is already set), filling ``out`` and
    writing it to ``args.out`` after each stage (a timed-out check still tells how far it got)."""
    import keras
    import numpy as np

    import zoo
    from zoo.backend import name
    from zoo.pretrained import shipped_model
    from zoo.explain.registry import EXPLAIN_METHODS

    backend = name()
    out.update(backend=backend, keras=keras.__version__, device=device_of(backend),
               tensorflow_importable=_importable("tensorflow"))
    save = lambda: args.out.write_text(json.dumps(out, indent=1))
    save()

    x, y, _ = zoo.load_data("fashion_mnist", "test", n=args.test_limit)
    model = zoo.create_model(SHIPPED, pretrained=True)
    zoo.evaluate(model, x[:512], y[:512])  # compile/trace first, so the timing is of the work
    report, seconds = timed(lambda: zoo.evaluate(model, x, y))
    expected = shipped_model(SHIPPED)[1]["metrics"]["test_accuracy"] if args.test_limit is None else None
    out["shipped"] = {"model": SHIPPED, "images": len(x), "accuracy": report["accuracy"], "manifest": expected,
                      "eval_images_per_s": round(len(x) / seconds, 1)}
    if expected is not None and abs(report["accuracy"] - expected) > TOLERANCE:
        out["failures"].append(f"shipped {SHIPPED}: {report['accuracy']:.4f} here, {expected:.4f} in its manifest")
    save()

    with tempfile.TemporaryDirectory() as tmp:
        result, seconds = timed(lambda: zoo.train(SHIPPED, "fashion_mnist", epochs=args.epochs, limit=args.limit,
                                                  out=Path(tmp) / "run", overwrite=True, progress=False,
                                                  recipe="fashion_mnist"))
        config = json.loads((Path(result.run_dir) / "config.json").read_text())
    train_images = int(config["dataset_sizes"]["train"])
    out["train"] = {"model": SHIPPED, "epochs": len(result.history), "train_images": train_images,
                    "batch_size": config["batch_size"], **{k: config["decisions"].get(k) for k in ("precision", "jit")},
                    "epoch_seconds": [round(float(r["epoch_seconds"]), 2) for r in result.history],
                    "images_per_s": [round(train_images / float(r["train_seconds"]), 1) for r in result.history],
                    "val_accuracy": [round(float(r["val_accuracy"]), 4) for r in result.history],
                    "test_accuracy": result.metrics.get("accuracy"), "wall_seconds": round(seconds, 1)}
    save()

    images, labels = x[:args.n_explain], y[:args.n_explain]
    out["explain"] = {}
    for method in EXPLAIN_METHODS.names():
        zoo.explain(model, images, method)  # trace once, for these shapes
        maps, seconds = timed(lambda: zoo.explain(model, images, method))
        out["explain"][method] = {"images": len(images), "seconds": round(seconds, 3),
                                  "finite": bool(np.isfinite(np.asarray(maps.heatmaps)).all())}
        if not out["explain"][method]["finite"]:
            out["failures"].append(f"explain {method}: maps that are not finite")
        save()
    images, labels = x[:args.n_attack], y[:args.n_attack]
    out["attack"] = {}
    for method in ("fgsm", "pgd"):
        zoo.attack(model, images, labels, method, eps=8)  # trace once, for these shapes
        adv, seconds = timed(lambda: zoo.attack(model, images, labels, method, eps=8))
        out["attack"][method] = {"images": len(images), "eps": 8, "seconds": round(seconds, 3),
                                 "clean_accuracy": adv.clean_accuracy, "robust_accuracy": adv.robust_accuracy}
        save()
    return out


def _importable(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=(*BACKENDS, "all"), default="all")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--limit", type=int, default=None, help="training images (default: all 54,000)")
    parser.add_argument("--test-limit", type=int, default=None, help="test images (default: all 10,000)")
    parser.add_argument("--n-explain", type=int, default=64)
    parser.add_argument("--n-attack", type=int, default=1000)
    parser.add_argument("--out", type=Path, default=Path("gpu_check.json"))
    parser.add_argument("--backend-timeout", type=float, default=None, help="seconds one backend may take")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:  # one backend, here
        result = {"backend": os.environ.get("KERAS_BACKEND"), "failures": []}
        try:
            check_backend(args, result)
        except Exception as exc:  # reported in the JSON: the other backend still runs
            result["failures"].append(f"{type(exc).__name__}: {exc}")
        args.out.write_text(json.dumps(result, indent=1))
        return 1 if result["failures"] else 0

    results = {}
    for backend in BACKENDS if args.backend == "all" else (args.backend,):
        part = args.out.with_name(f"{args.out.stem}.{backend}.json")
        command = [sys.executable, *sys.argv[:1], *(argv or sys.argv[1:]), "--child", "--out", str(part)]
        try:
            _, seconds = timed(lambda: subprocess.run(command, env={**os.environ, "KERAS_BACKEND": backend},
                                                      timeout=args.backend_timeout))
        except subprocess.TimeoutExpired:
            seconds = args.backend_timeout
        results[backend] = json.loads(part.read_text()) if part.is_file() else {"failures": []}
        if seconds == args.backend_timeout:
            results[backend]["failures"].append(f"stopped after --backend-timeout {args.backend_timeout} s")
        results[backend]["process_seconds"] = round(seconds, 1)
        part.unlink(missing_ok=True)
        print(f"{backend}: {'ok' if not results[backend]['failures'] else results[backend]['failures']}", flush=True)
    args.out.write_text(json.dumps(results, indent=1))
    print(f"Wrote {args.out}")
    return 1 if any(r["failures"] for r in results.values()) else 0


if __name__ == "__main__":
    sys.exit(main())

"""Speed on each Keras 3 backend (issue 22): training, explain and attack img/s of simplenet and resnet20
on TensorFlow, JAX and PyTorch, training with and without ``jit_compile``, next to raw PyTorch in the
same run.

    python benchmarks/bench_backends.py --images 4096 --epochs 3 --json docs/figures/bench_backends.json

Each backend runs in its own interpreter (``KERAS_BACKEND`` is read when Keras is imported), one after
the other, on the same Fashion-MNIST training images held in memory (``model.fit`` on arrays: the
data path is not what is measured), fp32, batch 128, Adam 1e-3, from the same initial weights.
Training img/s: the median over epochs 2..E (the first traces or compiles), wall time from the epoch's
start to its end (no validation). Explain (``zoo.explain``: gradient, integrated gradients) on 64
images and attack (``zoo.attack``: PGD at its default 10 steps, eps 8) on 256 images of the shipped
models, each timed after one warm-up call of the same shape, through the zoo's compiled form per
backend (tf.function, jax.jit, eager PyTorch). Raw PyTorch: benchmarks/torch_peer.py, the same
models as a PyTorch user writes them, eager, on the same arrays.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BACKENDS = ("tensorflow", "jax", "torch")
MODELS = ("simplenet", "resnet20")


def median_rate(images: int, seconds: list[float]) -> float:
    timed = seconds[1:] or seconds  # the first epoch compiles
    return images / statistics.median(timed)


def child(args) -> dict:
    import keras
    import numpy as np

    import zoo
    from zoo.backend import name

    out = {"backend": name(), "keras": keras.__version__, "images": args.images, "train": {}, "explain": {},
           "attack": {}}

    class EpochWall(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.seconds = []

        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds.append(time.perf_counter() - self.start)

    for model_name in args.models:
        shipped = zoo.create_model(model_name, pretrained=True)
        shape = tuple(int(d) for d in shipped.inputs[0].shape[1:])
        x, y, _ = zoo.load_data("fashion_mnist", "train", n=args.images, input_shape=shape)
        for jit in (False, True):
            keras.utils.set_random_seed(0)
            model = zoo.create_model(model_name, input_shape=shape, num_classes=10)
            model.compile(optimizer=keras.optimizers.Adam(1e-3),
                          loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), jit_compile=jit)
            timer = EpochWall()
            key = f"{model_name}/jit={'on' if jit else 'off'}"
            try:
                model.fit(x, y, batch_size=128, epochs=args.epochs, shuffle=True, verbose=0, callbacks=[timer])
                out["train"][key] = {"images_per_s": round(median_rate(len(x), timer.seconds), 1),
                                     "epoch_seconds": [round(s, 2) for s in timer.seconds]}
            except Exception as exc:  # e.g. torch.compile failing on this machine: say so in the table
                out["train"][key] = {"error": f"{type(exc).__name__}: {str(exc)[:200]}"}
            print(key, out["train"][key], file=sys.stderr, flush=True)

        images, labels = x[:64], y[:64]
        for method in ("gradient", "integrated-gradients"):
            zoo.explain(shipped, images, method)
            start = time.perf_counter()
            zoo.explain(shipped, images, method)
            out["explain"][f"{model_name}/{method}"] = round(len(images) / (time.perf_counter() - start), 1)
        images, labels = x[:256], y[:256]
        zoo.attack(shipped, images, labels, "pgd", eps=8)
        start = time.perf_counter()
        adv = zoo.attack(shipped, images, labels, "pgd", eps=8)
        out["attack"][f"{model_name}/pgd"] = round(len(images) / (time.perf_counter() - start), 1)
        out["attack"][f"{model_name}/pgd_robust_accuracy"] = adv.robust_accuracy
        # the arrays for the raw PyTorch peer: the same images, and the standardization zoo's models apply
        mean, var = np.mean(x / 255.0), np.var(x / 255.0)
        np.savez(f"{args.arrays}.{model_name}.npz", x=x, y=y, mean=np.float32(mean), var=np.float32(var))
    return out


def raw_torch(arrays: str, model: str, epochs: int) -> dict:
    proc = subprocess.run([sys.executable, str(HERE / "torch_peer.py"), arrays, "--model", model, "--epochs",
                           str(epochs)], capture_output=True, text=True)
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else f"exit {proc.returncode}"}
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    return {"images_per_s": round(median_rate(result["images"], result["wall"]), 1),
            "epoch_seconds": [round(s, 2) for s in result["wall"]], "torch": result["torch"]}


def table(results: dict, models) -> str:
    rows = ["| model | measure | " + " | ".join(results["backends"]) + " | raw PyTorch |",
            "| --- | --- | " + " | ".join("---:" for _ in results["backends"]) + " | ---: |"]

    def number(v: float) -> str:
        return f"{v:,.1f}" if v < 10 else f"{v:,.0f}"

    def cell(value):
        if isinstance(value, dict):
            return "failed" if "error" in value else number(value["images_per_s"])
        return number(value) if value else "-"

    for model in models:
        for label, section, key in (("train img/s, jit off", "train", f"{model}/jit=off"),
                                    ("train img/s, jit on", "train", f"{model}/jit=on"),
                                    ("gradient maps/s", "explain", f"{model}/gradient"),
                                    ("integrated gradients maps/s", "explain", f"{model}/integrated-gradients"),
                                    ("PGD images/s", "attack", f"{model}/pgd")):
            peer = cell(results["raw_torch"].get(model)) if label == "train img/s, jit off" else ""
            rows.append(f"| {model} | {label} | " + " | ".join(
                cell(results[b].get(section, {}).get(key)) for b in results["backends"]) + f" | {peer} |")
    return "\n".join(rows)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backends", default=",".join(BACKENDS))
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--images", type=int, default=4096)
    ap.add_argument("--epochs", type=int, default=3, help="the first is not timed")
    ap.add_argument("--json", type=Path, default=None, help="also write the results here")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--arrays", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--result", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    args.models = args.models.split(",")
    if args.child:
        Path(args.result).write_text(json.dumps(child(args)))
        return 0

    backends = args.backends.split(",")
    results = {"backends": backends, "load": os.getloadavg()[0], "cpu": _cpu(), "raw_torch": {}}
    with tempfile.TemporaryDirectory() as tmp:
        arrays = str(Path(tmp) / "arrays")
        for backend in backends:
            result = Path(tmp) / f"{backend}.json"
            command = [sys.executable, __file__, "--child", "--arrays", arrays, "--result", str(result),
                       "--images", str(args.images), "--epochs", str(args.epochs), "--models", ",".join(args.models)]
            subprocess.run(command, env={**os.environ, "KERAS_BACKEND": backend}, check=True)
            results[backend] = json.loads(result.read_text())
        for model in args.models:
            results["raw_torch"][model] = raw_torch(f"{arrays}.{model}.npz", model, args.epochs)
    results["load_after"] = os.getloadavg()[0]
    markdown = table(results, args.models)
    print(markdown)
    if args.json:
        args.json.write_text(json.dumps({**results, "table": markdown, "command": "python benchmarks/bench_backends.py "
                                         + " ".join(argv if argv is not None else sys.argv[1:])}, indent=1))
    return 0


def _cpu() -> str:
    try:
        flags = next(line for line in open("/proc/cpuinfo") if line.startswith("flags")).split()
        model = next(line for line in open("/proc/cpuinfo") if line.startswith("model name")).split(":", 1)[1].strip()
    except (OSError, StopIteration):
        return "unknown"
    return f"{model}, {os.cpu_count()} cores, " + ("AVX512_BF16" if "avx512_bf16" in flags else "no AVX512_BF16")


if __name__ == "__main__":
    raise SystemExit(main())

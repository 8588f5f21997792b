"""Ship a finished run's model with the package: weights/NAME-DATASET.keras + a manifest entry.

    .venv/bin/python scripts/ship_weights.py RUN_DIR --command "zoo train ..."

The model is re-saved without optimizer state (smaller; inference and fine-tuning need none), and
the manifest records its sha256, test metrics, the run's data settings and the command that
trained it, so `zoo eval NAME` can be checked against the figure shipped.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONFIG_KEYS = ("model", "dataset", "input_shape", "class_names", "num_classes", "val_split", "seed")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--command", required=True, help="the zoo train command that made the run")
    args = parser.parse_args()

    from zoo.io import atomic_path, write_json
    from zoo.run import load_model, read_run_config

    config = read_run_config(args.run_dir)
    metrics = json.loads((args.run_dir / "metrics.json").read_text())
    name, dataset = config["model"], config["dataset"]
    target = ROOT / "weights" / f"{name}-{dataset}.keras"
    with atomic_path(target) as tmp:
        load_model(args.run_dir).save(tmp)  # loaded uncompiled: no optimizer state is written
    manifest_path = ROOT / "weights" / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest.setdefault("models", {})[name] = {
        "file": target.name,
        "sha256": hashlib.sha256(target.read_bytes()).hexdigest(),
        "dataset": dataset,
        "metrics": {"test_accuracy": metrics["accuracy"], "test_top5": metrics.get("top5")},
        "command": args.command,
        "config": {k: config[k] for k in CONFIG_KEYS if k in config},
    }
    write_json(manifest_path, manifest)
    print(f"Shipped {name} ({target.stat().st_size:,} bytes, test accuracy {metrics['accuracy']:.2%}) as {target}")


if __name__ == "__main__":
    main()

"""Ship a finished run's model with the package: weights/NAME-DATASET.keras + its manifest entry.

    .venv/bin/python scripts/ship_weights.py RUN_DIR --recipe fashion_mnist \
        --command "zoo train NAME --recipe fashion_mnist"
    .venv/bin/python scripts/ship_weights.py RUN_DIR --recipe fashion_mnist --name resnet20.seed1 \
        --set seed=1 --set split_seed=0 --command "zoo train resnet20 --recipe fashion_mnist --seed 1 --split-seed 0"

The model is re-saved without optimizer state (smaller; inference and fine-tuning need none), and
the manifest records its sha256, size, test metrics (per class too), training time and machine,
versions, the run's data settings and the command that trained it (zoo.shipping.ship_run).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--command", required=True, help="the zoo train command that made the run")
    parser.add_argument("--recipe", help="the registry recipe the run's options equal (checked)")
    parser.add_argument("--note", help="anything a reader of the training time should know (e.g. a shared machine)")
    parser.add_argument("--name", help="ship as MODEL.TAG: another training of a model that ships (e.g. resnet20.seed1)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="OPTION=VALUE",
                        help="an option the command gives on top of the recipe (checked against the run), e.g. seed=1")
    args = parser.parse_args()
    overrides = {}
    for item in args.overrides:
        key, sep, value = item.partition("=")
        if not sep:
            parser.error(f"--set takes OPTION=VALUE, got {item!r}")
        try:
            overrides[key] = json.loads(value)  # numbers stay numbers
        except ValueError:
            overrides[key] = value  # a word: nesterov, cosine ...

    from zoo.shipping import ship_run

    entry = ship_run(args.run_dir, command=args.command, weights_dir=ROOT / "weights", recipe=args.recipe, note=args.note,
                     name=args.name, overrides=overrides)
    print(f"Shipped {args.name or entry['config']['model']} ({entry['size_bytes']:,} bytes, test accuracy "
          f"{entry['metrics']['test_accuracy']:.2%}) as weights/{entry['file']}")


if __name__ == "__main__":
    main()

"""Record each shipped model's test accuracy with test-time augmentation in weights/manifest.json.

    .venv/bin/python scripts/measure_tta.py            # measure (about 2 minutes a model on 2 cores)
    .venv/bin/python scripts/measure_tta.py --from flip=a.json flip+shift=b.json
        # take the rows of `zoo eval NAMES... --compare --tta T --json` runs instead of measuring again

The single-view figure (``metrics.test_accuracy``) stays what it is; TTA goes beside it in
``metrics.test_accuracy_tta`` with the command that measures it, so `zoo weights` and
docs/models.md can show both.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

MANIFEST = Path(__file__).resolve().parent.parent / "weights" / "manifest.json"
MODES = ("flip", "flip+shift")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--from", dest="sources", nargs="*", default=[], metavar="MODE=FILE",
                        help="JSON output of `zoo eval NAMES --compare --tta MODE --json`")
    args = parser.parse_args()
    manifest = json.loads(MANIFEST.read_text())
    measured: dict[str, dict[str, float]] = {}
    if args.sources:
        for item in args.sources:
            mode, _, path = item.partition("=")
            for row in json.loads(Path(path).read_text()):
                assert row["tta"] == mode and row["samples"] == 10_000, (mode, row["model_path"])
                entry = manifest["models"][row["model_path"]]
                # the same model: its single view must be the recorded figure
                assert abs(row["single_view_accuracy"] - entry["metrics"]["test_accuracy"]) < 5e-4, row["model_path"]
                measured.setdefault(row["model_path"], {})[mode] = row["accuracy"]
    else:
        from zoo.evaluation import evaluate_path

        for name in manifest["models"]:
            for mode in MODES:
                measured.setdefault(name, {})[mode] = evaluate_path(name, tta=mode)["accuracy"]
    for name, accs in measured.items():
        metrics = manifest["models"][name]["metrics"]
        metrics["test_accuracy_tta"] = {m: round(float(accs[m]), 4) for m in MODES if m in accs}
        metrics["tta_command"] = f"zoo eval {name} --tta MODE"
    MANIFEST.write_text(json.dumps(manifest, indent=2) + "\n")
    for name, accs in measured.items():
        print(name, manifest["models"][name]["metrics"]["test_accuracy"], accs)


if __name__ == "__main__":
    main()

"""The catalogue: what `zoo models` shows, without building a model or importing TensorFlow.

``zoo/catalog.json`` holds, per registered model, its registry facts and its parameter and FLOP
counts at the default input and class count. It is generated from the registry
(``python -m zoo.catalog``, which builds and counts every model) and ``tests/test_catalog.py``
checks it against the live counts, so a contributor who adds or changes a model regenerates it.
Reading it costs milliseconds; counting the 25 models live costs half a minute.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

CATALOG_FILE = "catalog.json"
SUMMARY_WIDTH = 80  # Keras summary columns: fits an 80-column terminal with the Param # column
FAMILY_ORDER = ("lenet", "alexnet", "vgg", "inception", "resnet")  # chronological


def catalog_order(entry) -> tuple:
    """Families in historical order, faithful models before small-input ones, numbers numerically.

    ``entry`` is a ModelSpec or a catalogue row (anything with name, family, small_input).
    """
    import re

    get = entry.get if isinstance(entry, dict) else lambda k: getattr(entry, k)
    natural = re.sub(r"\d+", lambda m: m.group().zfill(6), get("name"))
    family = get("family")
    rank = FAMILY_ORDER.index(family) if family in FAMILY_ORDER else len(FAMILY_ORDER)
    return (rank, bool(get("small_input")), natural)


def human(n: float, unit: str = "") -> str:
    """61706 -> '61.7K', 7005832 -> '7.01M', 3.1e9 -> '3.10G'."""
    for scale, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "K")):
        if abs(n) >= scale:
            return f"{n / scale:.3g}{suffix}{unit}" if n / scale < 100 else f"{n / scale:.0f}{suffix}{unit}"
    return f"{n:.0f}{unit}"


def markdown_table(rows: list[dict]) -> str:
    """A GitHub markdown table of catalogue rows: name, family, paper, input, params, FLOPs, weights."""
    lines = [
        "| Model | Family | Paper | Default input | Classes | Trainable params | FLOPs / image | Weights |",
        "|---|---|---|---|---|---:|---:|---|",
    ]
    for row in rows:
        h, w, c = row["input_shape"]
        lines.append(
            f"| `{row['name']}` | {row['family']} | {row['paper']} | {h}x{w}x{c} | {row['num_classes']} "
            f"| {row['trainable_params']:,} | {human(row['flops'])} | {'yes' if row['weights_shipped'] else '-'} |"
        )
    return "\n".join(lines) + "\n"


def build_catalog() -> dict:
    """Count every registered model (imports TensorFlow; ~1 s a model)."""
    from zoo.flops import model_stats
    from zoo.registry import list_models

    rows = {}
    for spec in sorted(list_models(), key=catalog_order):
        stats = model_stats(spec.name)
        rows[spec.name] = {
            "name": spec.name, "family": spec.family, "paper": spec.paper, "description": spec.description,
            "input_shape": list(spec.input_shape), "num_classes": spec.num_classes,
            "small_input": spec.small_input, "last_conv": spec.last_conv, "recipes": sorted(spec.recipes),
            "trainable_params": stats.trainable_params, "non_trainable_params": stats.non_trainable_params,
            "flops": stats.flops,
        }
    return {"models": rows}


def load_catalog() -> dict:
    """name -> catalogue row, in catalogue order ({} if the file is missing)."""
    try:
        text = resources.files("zoo").joinpath(CATALOG_FILE).read_text()
    except (FileNotFoundError, ModuleNotFoundError):
        return {}
    return json.loads(text).get("models", {})


def catalog_rows(pattern: str | None = None) -> list[dict]:
    """Catalogue rows matching ``pattern``, each with ``weights_shipped`` from the manifest."""
    from zoo.registry import load_weights_manifest, matches

    shipped = load_weights_manifest()
    return [dict(row, weights_shipped=name in shipped) for name, row in load_catalog().items()
            if matches(pattern, name, row["family"])]


def _cache_file(name: str) -> Path:
    """Where the default-shape summary of ``name`` is cached: keyed by the version and model sources."""
    import hashlib
    import os

    from zoo.version import __version__

    h = hashlib.sha256(f"{__version__} {SUMMARY_WIDTH}".encode())
    for source in sorted(Path(__file__).with_name("models").glob("*.py")):
        h.update(source.read_bytes())
    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "zoo" / "summaries"
    return root / f"{name}-{h.hexdigest()[:16]}.txt"


def _flops(net) -> int:
    """FLOPs by TensorFlow's profiler, which needs the TensorFlow backend."""
    from zoo.backend import name
    from zoo.errors import InvalidArgumentError
    from zoo.flops import count_flops

    if name() != "tensorflow":
        raise InvalidArgumentError(f"FLOPs at a non-default input shape or class count are counted by TensorFlow's "
                                   f"profiler; the Keras backend is {name()}: run with KERAS_BACKEND=tensorflow.")
    return count_flops(net)


def model_summary(name: str, input_shape=None, num_classes=None) -> tuple[list[str], dict]:
    """(Keras summary lines, counts) of a registry model, like ``zoo info`` prints them.

    At the default input and class count the counts come from the catalogue and the summary
    from a per-user cache filled on the first call, so a repeated ``zoo info`` imports no TensorFlow.
    """
    row = load_catalog().get(name)
    default = row is not None and input_shape is None and num_classes is None
    cache = _cache_file(name) if default else None
    if cache is not None and cache.is_file():
        return cache.read_text().splitlines(), dict(row)
    from zoo.flops import count_params, weightless_model

    net = weightless_model(name, input_shape=input_shape, num_classes=num_classes)
    lines: list[str] = []
    net.summary(print_fn=lambda line, **_: lines.append(line), line_length=SUMMARY_WIDTH)
    trainable, non_trainable = count_params(net)
    counts = {"input_shape": list(net.inputs[0].shape[1:]), "num_classes": int(net.outputs[0].shape[-1]),
              "trainable_params": trainable, "non_trainable_params": non_trainable,
              "flops": row["flops"] if default else _flops(net)}
    if cache is not None:
        try:
            from zoo.io import write_text

            cache.parent.mkdir(parents=True, exist_ok=True)
            write_text(cache, "\n".join(lines))
        except OSError:  # a read-only home: no cache, just slower
            pass
    return lines, counts


def write_catalog(path: Path | None = None) -> Path:
    from zoo.io import write_json

    path = path or Path(__file__).with_name(CATALOG_FILE)
    write_json(path, build_catalog())
    return path


if __name__ == "__main__":
    print(f"Wrote {write_catalog()}")


def model_info(model: str, *, input_shape=None, num_classes=None) -> dict:
    """`zoo info`: the catalogue row of ``model`` (an unknown name lists close matches), its summary
    lines and counts at ``input_shape`` / ``num_classes``, and whether its weights ship."""
    from zoo.registry import MODELS, load_weights_manifest

    name = model if model in load_catalog() else MODELS.get(model).name
    lines, counts = model_summary(name, input_shape=input_shape, num_classes=num_classes)
    row = load_catalog().get(name) or MODELS.get(name).__dict__
    return {"name": name, "row": row, "summary": lines, "counts": counts,
            "weights_shipped": name in load_weights_manifest()}

"""Explain and attack speed through the Python API, this checkout against another, in one run.

    .venv/bin/python benchmarks/bench_api_speed.py --against DIR [--rounds 2] [--models simplenet,resnet20]

DIR is another checkout of zoo (``git worktree add /tmp/old COMMIT``). Each round runs one child
interpreter per checkout (PYTHONPATH picks whose ``zoo`` is imported; the same venv, the same Keras and
TensorFlow), alternating which goes first, so load drifts hit both alike. A child loads each shipped
model, and for every explain method and attack both checkouts have, calls ``zoo.explain`` /
``zoo.attack`` once to trace, then times ``--repeats`` calls (more for fast ones, ``--min-seconds`` in all) on the same test images
and keeps the best (the least disturbed). Printed: images per second of each checkout (best round) and their ratio;
ratio < 1 means this checkout is slower. A speed regression check for rewrites of the seams
(issue 22 moved attack and explain from ``tf.function``/``GradientTape`` to Keras ops and the
per-backend gradient seam).

    --child OUT   (internal) measure with whichever zoo is importable and write OUT as JSON
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]


def child(args) -> None:
    import zoo
    from zoo.attack.registry import ATTACKS
    from zoo.explain.registry import EXPLAIN_METHODS

    x, y, _ = zoo.load_data("fashion_mnist", "test", n=max(args.n_explain, args.n_attack))
    out = {"zoo": str(Path(zoo.__file__).parent.parent), "explain": {}, "attack": {}}

    def best_of(call):
        call()  # trace once for these shapes
        times = []
        while len(times) < args.repeats or sum(times) < args.min_seconds:  # fast calls: more of them
            t0 = time.perf_counter()
            call()
            times.append(time.perf_counter() - t0)
        return min(times)

    for name in args.models.split(","):
        model = zoo.load_model(name)
        images, labels = x[:args.n_explain], y[:args.n_explain]
        for method in EXPLAIN_METHODS.names():
            seconds = best_of(lambda: zoo.explain(model, images, method))
            out["explain"][f"{name}/{method}"] = len(images) / seconds
        images, labels = x[:args.n_attack], y[:args.n_attack]
        for method in ATTACKS.names():
            seconds = best_of(lambda: zoo.attack(model, images, labels, method, eps=8))
            out["attack"][f"{name}/{method}"] = len(images) / seconds
        print(f"  {name} done", file=sys.stderr, flush=True)
    Path(args.child).write_text(json.dumps(out))


def rate(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:.3g}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", type=Path, help="the other checkout (a zoo source tree)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--min-seconds", type=float, default=2.0, help="time each call at least this long in all")
    parser.add_argument("--models", default="simplenet,resnet20")
    parser.add_argument("--n-explain", type=int, default=32)
    parser.add_argument("--n-attack", type=int, default=256)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args)
    if args.against is None or not (args.against / "zoo" / "__init__.py").is_file():
        raise SystemExit(f"--against must be a zoo checkout (a folder holding zoo/__init__.py); got {args.against}")

    trees = {"this": HERE, "against": args.against.resolve()}
    best: dict[str, dict] = {}
    passed = [a for a in sys.argv[1:] if not a.startswith("--against") and a != str(args.against)]
    print(f"# load {os.getloadavg()[0]:.2f} at start; this = {HERE}, against = {trees['against']}", flush=True)
    for r in range(args.rounds):
        for who in (("this", "against") if r % 2 == 0 else ("against", "this")):
            out = Path(f"/tmp/bench_api_speed_{os.getpid()}_{who}.json")
            env = {**os.environ, "PYTHONPATH": str(trees[who]), "TF_CPP_MIN_LOG_LEVEL": "2"}
            subprocess.run([sys.executable, __file__, "--child", str(out), *passed], env=env, check=True, cwd=trees[who])
            got = json.loads(out.read_text())
            out.unlink()
            assert Path(got["zoo"]).resolve() == trees[who], (got["zoo"], trees[who])  # the right zoo was measured
            for kind in ("explain", "attack"):
                for key, rate in got[kind].items():
                    slot = best.setdefault(who, {}).setdefault(kind, {})
                    slot[key] = max(slot.get(key, 0.0), rate)
    print(f"\n# load {os.getloadavg()[0]:.2f} at the end; images/s, best of {args.rounds} rounds x {args.repeats}\n")
    print("| call | model/method | this (img/s) | against (img/s) | this / against |")
    print("|---|---|---:|---:|---:|")
    for kind in ("explain", "attack"):
        for key in sorted(set(best["this"][kind]) & set(best["against"][kind])):
            a, b = best["this"][kind][key], best["against"][kind][key]
            print(f"| {kind} | {key} | {rate(a)} | {rate(b)} | {a / b:.2f} |")


if __name__ == "__main__":
    main()

#!/usr/bin/env bash
# The accelerator check (issue 22) on a machine with JAX and/or PyTorch and no TensorFlow:
#
#   bash scripts/gpu_check.sh OUT_DIR [gpu_check.py options, e.g. --epochs 3 --backend torch]
#
# It uses the python3 there (PYTHON=... to pick another), adds Keras if that python lacks it (from
# wheels in .gpu/whl when the machine is offline, else from PyPI), puts zoo on the path as pip would
# lay it out (zoo, zoo.cli, zoo.weights: pyproject's package-dir, no build step), finds
# Fashion-MNIST in .gpu/fashion-mnist when it is there (ZOO_DATA_DIR), and writes
# OUT_DIR/gpu_check.json (scripts/gpu_check.py says what is in it).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:?usage: bash scripts/gpu_check.sh OUT_DIR [options]}
shift
python=${PYTHON:-python3}
mkdir -p "$out"
site=$(mktemp -d)
trap 'rm -rf "$site"' EXIT
if ! "$python" -c "import importlib.util as u, sys; sys.exit(u.find_spec('keras') is None)"; then
  if [ -d .gpu/whl ]; then
    "$python" -m pip install -q --no-index --no-deps --no-compile --target "$site/deps" .gpu/whl/*.whl
  else
    "$python" -m pip install -q --target "$site/deps" keras
  fi
fi
mkdir -p "$site/pkg"
cp -r zoo "$site/pkg/zoo" && cp -r cli "$site/pkg/zoo/cli" && cp -r weights "$site/pkg/zoo/weights"
export PYTHONPATH="$site/pkg:$site/deps${PYTHONPATH:+:$PYTHONPATH}"
if [ -d .gpu/fashion-mnist ] && [ -z "${ZOO_DATA_DIR:-}" ]; then
  export ZOO_DATA_DIR="$PWD/.gpu"
fi
"$python" -c "import importlib.util as u; print('TensorFlow', 'is' if u.find_spec('tensorflow') else 'is not', 'installed')"
"$python" scripts/gpu_check.py --out "$out/gpu_check.json" "$@"

#!/usr/bin/env bash
# Idempotent set-up shared by the README's two commands: system packages, the virtualenv,
# the zoo package and the default dataset. A second run skips everything already done.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
VENV=${ZOO_VENV:-.venv}
FMNIST=/usr/share/datasets/fashion-mnist

if ! command -v "$PYTHON" >/dev/null; then
  echo "setup: $PYTHON not found; install Python 3.10 or newer (apt-get install python3)." >&2
  exit 1
fi
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 10))'; then
  echo "setup: zoo needs Python 3.10+, found $("$PYTHON" --version 2>&1)." >&2
  exit 1
fi

# System packages, only the missing ones: venv support and the embedded default dataset.
apt_missing=()
"$PYTHON" -c 'import ensurepip, venv' 2>/dev/null || apt_missing+=(python3-venv)
[ -f "$FMNIST/train-images-idx3-ubyte.gz" ] || apt_missing+=(dataset-fashion-mnist)
if [ ${#apt_missing[@]} -gt 0 ]; then
  if command -v apt-get >/dev/null; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "setup: installing ${apt_missing[*]} with apt-get"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${apt_missing[@]}" >/dev/null
  else
    echo "setup: no apt-get; Fashion-MNIST will be downloaded through TFDS on first use" \
         "(zoo train --download), and venv support must come from your Python." >&2
  fi
fi

if [ ! -x "$VENV/bin/python" ]; then
  echo "setup: creating $VENV"
  "$PYTHON" -m venv "$VENV"
fi

# Reinstall only when the package metadata changed (the code itself is installed editable).
stamp="$VENV/.zoo-install-stamp"
want=$(cat pyproject.toml | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "setup: installing zoo and its dependencies into $VENV (first time: a few minutes)"
  "$VENV/bin/python" -m pip install -q --upgrade pip
  "$VENV/bin/python" -m pip install -q -e ".[test]"
  echo "$want" > "$stamp"
fi

# The other Keras 3 backends, CPU builds, for the test command (scripts/test.sh sets ZOO_BACKENDS=1),
# so tests/test_backends.py compares JAX and PyTorch with TensorFlow instead of skipping them; the
# main job does not need them. torch 2.13.0: the CPU wheel this machine kind keeps on disk (an
# unpinned torch would pull a CUDA build of several GB).
if [ "${ZOO_BACKENDS:-0}" != "0" ] && ! "$VENV/bin/python" -c 'import jax, torch' 2>/dev/null; then
  echo "setup: installing the JAX and PyTorch CPU backends into $VENV"
  "$VENV/bin/python" -m pip install -q "jax[cpu]" "torch==2.13.0"
fi

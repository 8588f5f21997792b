#!/usr/bin/env bash
# The PyTorch peer's own environment (bench_train.py --torch): torch 2.13.0, the CPU build.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv-torch/bin/python ] || python3 -m venv .venv-torch
.venv-torch/bin/pip install -q "torch==2.13.0" numpy
.venv-torch/bin/python -c "import torch; print('torch', torch.__version__, 'threads', torch.get_num_threads())"

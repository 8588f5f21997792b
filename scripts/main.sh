#!/usr/bin/env bash
# The README's main job: set up (idempotent), then show the zoo.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export TF_CPP_MIN_LOG_LEVEL=2
.venv/bin/zoo models
.venv/bin/zoo info simplenet

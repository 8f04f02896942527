#!/usr/bin/env bash
# The whole test suite: lint, unit tests and every notebook under nbval (fast mode).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/setup_env.sh"
cd "$ROOT"
export POSEGEN_FAST=1          # the one switch that keeps notebooks (and anything else) small
export MPLBACKEND=Agg
ruff check posegen_lite tests benchmarks
# Unit tests, then every notebook top to bottom under nbval (cells marked NBVAL_CHECK_OUTPUT are compared).
python -m pytest -p no:cacheprovider tests notebooks --nbval-lax --nbval-current-env \
  --nbval-sanitize-with notebooks/nbval_sanitize.cfg "$@"

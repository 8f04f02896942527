#!/usr/bin/env bash
# The whole test suite: lint, types (mypy on the core), unit tests, browser tests (when Chromium is installed)
# and every notebook under nbval (fast mode).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/setup_env.sh" full
cd "$ROOT"
export POSEGEN_FAST=1          # the one switch that keeps notebooks (and anything else) small
export MPLBACKEND=Agg
ruff format --check posegen_lite tests benchmarks scripts
ruff check posegen_lite tests benchmarks
mypy  # the typed core: [tool.mypy] files in pyproject.toml
CHROMIUM="${POSEGEN_CHROMIUM:-/usr/bin/chromium}"
if [ -x "$CHROMIUM" ]; then
  echo "[test] browser tests: ON (JupyterLab and posegen app in headless Chromium at $CHROMIUM)"
else
  echo "[test] browser tests: SKIPPED: no Chromium at $CHROMIUM (Debian: apt-get install chromium)"
fi
# Unit and browser tests (tests/browser/), then every notebook top to bottom under nbval (cells marked NBVAL_CHECK_OUTPUT are compared).
python -m pytest -p no:cacheprovider tests notebooks --nbval-lax --nbval-current-env \
  --nbval-sanitize-with notebooks/nbval_sanitize.cfg "$@"

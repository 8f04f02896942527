#!/usr/bin/env bash
# Open the notebooks in JupyterLab: set up .venv (JupyterLab included), then `jupyter lab notebooks/`.
# Extra arguments go to JupyterLab (e.g. --port 8890 --no-browser).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/setup_env.sh" full
cd "$ROOT"
# This environment's JupyterLab settings: widget state is saved with the notebook, so a notebook you saved and
# reopen shows its widgets (instead of "Error displaying widget: model not found"), and no news is fetched.
mkdir -p "$VENV/share/jupyter/lab/settings"
cp "$ROOT/scripts/jupyterlab_overrides.json" "$VENV/share/jupyter/lab/settings/overrides.json"
exec "$VENV/bin/jupyter" lab "$ROOT/notebooks" "$@"

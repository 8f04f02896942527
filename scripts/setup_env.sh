#!/usr/bin/env bash
# Create (or reuse) the project's virtual environment in .venv and install posegen_lite into it.
# Sourced by scripts/main.sh and scripts/test.sh; safe to run again (it skips work already done).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${POSEGEN_VENV:-$ROOT/.venv}"
PY="$VENV/bin/python"

if [ ! -x "$PY" ]; then
  echo "[setup] creating virtual environment in $VENV"
  python3 -m venv "$VENV"
fi

# Reinstall only when the dependency list or this script changed.
STAMP="$VENV/.posegen-$(cat "$ROOT/pyproject.toml" "$ROOT/scripts/setup_env.sh" | sha1sum | cut -c1-12)"
if [ ! -f "$STAMP" ]; then
  echo "[setup] installing posegen_lite and its dependencies (first run only)"
  "$PY" -m pip install -q --upgrade pip
  # Pin torch here, and only here: the pinned CPU wheel is on local disk on the project's machines, while a
  # loose requirement would pull a multi-GB CUDA build. Users who already have torch (Colab) keep theirs.
  if ! "$PY" -c "import torch" 2>/dev/null; then
    "$PY" -m pip install -q "torch==2.13.0"
  fi
  # browser: JupyterLab (scripts/lab.sh), Voilà (posegen app) and Playwright (the browser tests);
  # assignments: otter-grader (posegen assignments build|grade, tests/test_assignments.py)
  "$PY" -m pip install -q -e "$ROOT[test,photo,browser,assignments]"
  # MediaPipe's metadata pins numpy<2; 0.10.14 works with numpy 2, so install it without its pins.
  "$PY" -m pip install -q --no-deps "mediapipe==0.10.14"
  rm -f "$VENV"/.posegen-*
  touch "$STAMP"
fi
export PATH="$VENV/bin:$PATH"

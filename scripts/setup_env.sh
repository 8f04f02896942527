#!/usr/bin/env bash
# Create (or reuse) the project's virtual environment in .venv and install posegen_lite into it.
# Sourced by scripts/main.sh (`source setup_env.sh main`: the package and what the demo needs, nothing more)
# and by scripts/test.sh and scripts/lab.sh (`full`, the default: the test, photo, browser and assignment
# extras too). Safe to run again: it skips work already done, and a full install also serves the main job.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${POSEGEN_VENV:-$ROOT/.venv}"
PY="$VENV/bin/python"
MODE="${1:-full}"
case "$MODE" in main | full) ;; *) echo "setup_env.sh: mode must be main or full, got '$MODE'" >&2; return 2 2>/dev/null || exit 2 ;; esac

if [ ! -x "$PY" ]; then
  echo "[setup] creating virtual environment in $VENV"
  python3 -m venv "$VENV"
fi

# Reinstall only when the dependency list or this script changed.
HASH="$(cat "$ROOT/pyproject.toml" "$ROOT/scripts/setup_env.sh" | sha1sum | cut -c1-12)"
if [ ! -f "$VENV/.posegen-full-$HASH" ] && [ ! -f "$VENV/.posegen-$MODE-$HASH" ]; then
  echo "[setup] installing posegen_lite and its dependencies ($MODE set-up, first run only)"
  # --no-compile: Python writes the bytecode of the modules a run imports, on first import, instead of pip
  # compiling every file of every package up front (most of the install time of torch).
  # Pin torch here, and only here: the pinned CPU wheel is on local disk on the project's machines, while a
  # loose requirement would pull a multi-GB CUDA build. Users who already have torch (Colab) keep theirs.
  if ! "$PY" -c "import torch" 2>/dev/null; then
    "$PY" -m pip install -q --no-compile "torch==2.13.0"
  fi
  if [ "$MODE" = main ]; then
    "$PY" -m pip install -q --no-compile -e "$ROOT"
  else
    # test: pytest, nbval, ruff, mypy; photo: MediaPipe's needs; browser: JupyterLab (scripts/lab.sh), Voilà
    # (posegen app) and Playwright (the browser tests); assignments: otter-grader
    "$PY" -m pip install -q --no-compile -e "$ROOT[test,photo,browser,assignments]"
    # MediaPipe's metadata pins numpy<2; 0.10.14 works with numpy 2, so install it without its pins.
    "$PY" -m pip install -q --no-compile --no-deps "mediapipe==0.10.14"
  fi
  rm -f "$VENV/.posegen-$MODE-"*
  touch "$VENV/.posegen-$MODE-$HASH"
fi
export PATH="$VENV/bin:$PATH"

#!/usr/bin/env bash
# The main job: set up, then generate novel views on the embedded dataset and write viewable results.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/setup_env.sh" main
cd "$ROOT"
export MPLBACKEND=Agg
python -m posegen_lite demo "$@"

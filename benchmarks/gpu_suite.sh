#!/usr/bin/env bash
# Every device-aware measurement, on one CUDA machine (a Colab GPU, a lent H100): the CUDA tests, training
# throughput per precision, inference latency, peak GPU memory, and the notebooks' training time per size tier.
# Each step has a time limit and the next one runs whatever happened; the JSON goes to benchmarks/results/
# (*_cuda.json, bench_tiers_<tier>.json), the tables to stdout.
#
# Run: bash benchmarks/gpu_suite.sh            (needs torch with CUDA; nothing else beyond the package's deps)
set -u
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
R=benchmarks/results
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1

step() {  # step LIMIT_S COMMAND...: run, print its status and time
    local limit=$1 t0=$SECONDS
    shift
    echo "=== $* (limit ${limit} s)"
    timeout "$limit" "$@"
    echo "=== exit $? after $((SECONDS - t0)) s"
}

nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || exit 1
$PY -c "import torch; print('torch', torch.__version__, '| CUDA', torch.version.cuda, '|', torch.cuda.get_device_name(0), \
'| capability', torch.cuda.get_device_capability(0))" || exit 1
step 240 $PY -m pytest -q -p no:cacheprovider -s tests/test_cuda.py tests/test_steps.py
step 240 $PY benchmarks/bench_train.py --device cuda --no-compile --out $R/bench_train_cuda.json
step 90 $PY benchmarks/bench_latency.py --device cuda --checkpoint posegen_lite/assets/demo_128x64.pt \
    --out $R/bench_latency_cuda_demo.json
step 90 $PY benchmarks/bench_latency.py --device cuda --out $R/bench_latency_cuda.json
step 150 $PY benchmarks/bench_memory.py --device cuda --out $R/bench_memory_cuda.json
for tier in colab full; do
    step 200 $PY benchmarks/bench_tiers.py --tier "$tier" --steps 30 --warmup 5
done

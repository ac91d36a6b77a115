#!/bin/bash
# One lease of a lent GPU machine (the README's GPU figures came from this script):
#   1. the packages its image lacks, carried as wheels in .whl/ (kornia, webdataset, jsonargparse, lpips, av);
#   2. the embedded synthetic data, rendered there;
#   3. `bench/bench.py` on the GPU (train 64/256 px in fp32/bf16/fp16, memory, generation, inversion);
#   4. the motion ablations (bench/ablations.py), all runs at once (CUDA MPS where it starts), until BUDGET.
# Results go to $OUT (default outputs/gpu): gpu.txt, bench.json, bench.log, ablations.log, table.md, runs.tgz.
# Usage: SETTINGS=default,gate BUDGET=560 bash bench/gpu.sh
set -u
OUT=${OUT:-outputs/gpu}
BUDGET=${BUDGET:-560}     # seconds for the whole script; the ablations stop 40 s before it ends
SETTINGS=${SETTINGS:-default}
T0=$(date +%s)
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 WANDB_MODE=offline
if [ -d .whl ]; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
        || exit 1
    export PYTHONPATH=/tmp/site:$PWD
fi
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUT/gpu.txt"
lscpu | grep -E "Model name|^CPU\(s\)" | tee -a "$OUT/gpu.txt"
python3 -c "import torch, kornia, webdataset, jsonargparse, lpips; print('torch', torch.__version__, torch.cuda.get_device_name())" \
    | tee -a "$OUT/gpu.txt" || exit 1
if [ ! -f data/synthetic64/manifest.json ]; then
    python3 -m dl_lightning.cli.data synthetic --out data/synthetic64 --overwrite --workers 16 >"$OUT/data.log" 2>&1 \
        || { tail -n 20 "$OUT/data.log"; exit 1; }
fi
echo "setup: $(($(date +%s) - T0)) s"

python3 bench/bench.py --against none --out "$OUT/bench.json" 2>&1 | grep -Ev "Warning|warn\(|Tip:|available:|eval mode" | tee "$OUT/bench.log"
echo "bench done: $(($(date +%s) - T0)) s"

# many small 64 px runs share the GPU far better as one MPS client each than by time-slicing
export CUDA_MPS_PIPE_DIRECTORY=/tmp/mps CUDA_MPS_LOG_DIRECTORY=/tmp/mps-log
mkdir -p /tmp/mps /tmp/mps-log
if command -v nvidia-cuda-mps-control >/dev/null && nvidia-cuda-mps-control -d \
    && timeout 60 python3 -c "import torch; assert torch.ones(8, device='cuda').sum().item() == 8"; then
    echo "MPS: on"
else
    echo quit | nvidia-cuda-mps-control 2>/dev/null
    unset CUDA_MPS_PIPE_DIRECTORY CUDA_MPS_LOG_DIRECTORY
    echo "MPS: off"
fi
n=$(($(echo "$SETTINGS" | tr ',' '\n' | wc -l) * 2))
left=$((BUDGET - ($(date +%s) - T0) - 40))
timeout -s KILL "$left" python3 bench/ablations.py --settings "$SETTINGS" --seeds 0 1 --parallel "$n" --csv-logger \
    --out runs/ablations 2>&1 | tee "$OUT/ablations.log"
pkill -f "dl_lightning.cli" 2>/dev/null
sleep 2
python3 bench/ablations.py --table-only --out runs/ablations 2>/dev/null | tee "$OUT/table.md"
tar czf "$OUT/runs.tgz" runs/ablations/*.json runs/ablations/*/log.txt runs/ablations/*/generator_ema.safetensors \
    runs/ablations/*/*/version_*/metrics.csv runs/ablations/*/samples/grid_*.png 2>/dev/null
echo "total: $(($(date +%s) - T0)) s"

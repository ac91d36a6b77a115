#!/bin/bash
# One lease of a lent GPU machine (the GPU figures of docs/performance.md came from this script):
#   1. the packages its image lacks, carried as wheels in .whl/ (kornia, webdataset, jsonargparse, lpips, av);
#   2. the embedded synthetic data, rendered there, and the motion segmenter trained on it;
#   3. `bench/bench.py` on the GPU (train 64/256 px in fp32/bf16/fp16, memory, generation, inversion);
#   4. the ablations (bench/ablations.py), all runs at once (CUDA MPS where it starts), until BUDGET.
# Results go to $OUT (default outputs/gpu): gpu.txt, bench.json, bench.log, ablations.log, table.md, runs.tgz.
# Usage: SETTINGS=default,gate BUDGET=560 bash bench/gpu.sh
#   BENCH=0 skips step 3; SEEDS="0 1 2" (default "0 1"); STEPS (default 2000); EVAL=0 trains only (the exported EMA
#   generators come back in runs.tgz for `dl-eval gan` elsewhere); TRAIN_ARGS are passed to every dl-train, e.g.
#   "--trainer.max_time=00:00:07:00" to stop each run in time for its generator to be exported; BASE: the config
#   files each run reads (default: the default config), e.g. for issue #39's long recipe at batch 64, both seeds:
#   BENCH=0 STEPS=2500 BASE="configs/gan/synthetic64.yaml configs/gan/synthetic64_long.yaml \
#   configs/gan/synthetic64_long_b64.yaml" bash bench/gpu.sh
set -u
OUT=${OUT:-outputs/gpu}
BUDGET=${BUDGET:-560}     # seconds for the whole script; the ablations stop 40 s before it ends
SETTINGS=${SETTINGS:-default}
SEEDS=${SEEDS:-0 1}
STEPS=${STEPS:-2000}
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
# the motion segmenter that the GAN's stillness term reads (make motion-segmenter; about a minute on a GPU), in its
# config's run folder, where checkpoints.DEFAULT_SEGMENTER looks
SEG=$(python3 -c "from dl_lightning.checkpoints import DEFAULT_SEGMENTER as s; print(s)")
if [ ! -f "$SEG" ]; then
    python3 -m dl_lightning.cli.train fit --config configs/segmenter/synthetic64.yaml \
        --trainer.logger=pytorch_lightning.loggers.CSVLogger --trainer.logger.save_dir="${SEG%/checkpoints/*}" \
        >"$OUT/segmenter.log" 2>&1 || { tail -n 20 "$OUT/segmenter.log"; exit 1; }
fi
echo "setup: $(($(date +%s) - T0)) s"

[ "${BENCH:-1}" = 0 ] || python3 bench/bench.py --against none --out "$OUT/bench.json" 2>&1 | grep -Ev "Warning|warn\(|Tip:|available:|eval mode" | tee "$OUT/bench.log"
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
n=$(($(echo "$SETTINGS" | tr ',' '\n' | wc -l) * $(echo $SEEDS | wc -w)))
left=$((BUDGET - ($(date +%s) - T0) - 40))
# shellcheck disable=SC2086
timeout -s KILL "$left" python3 bench/ablations.py --settings "$SETTINGS" --seeds $SEEDS --steps "$STEPS" \
    $([ -n "${BASE:-}" ] && echo --base $BASE) \
    --parallel "$n" --csv-logger --out runs/ablations $([ "${EVAL:-1}" = 0 ] && echo --no-eval) ${TRAIN_ARGS:-} \
    2>&1 | tee "$OUT/ablations.log"
pkill -f "dl_lightning.cli" 2>/dev/null
sleep 2
python3 bench/ablations.py --table-only --out runs/ablations 2>/dev/null | tee "$OUT/table.md"
# with the CSV logger a run's exports and samples lie in <run>/lightning_logs/version_0/
find runs/ablations \( -name "*.json" -o -name log.txt -o -name generator_ema.safetensors -o -name metrics.csv \
    -o -name "grid_*.png" \) | tar czf "$OUT/runs.tgz" -T -
echo "total: $(($(date +%s) - T0)) s"

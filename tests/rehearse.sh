#!/usr/bin/env bash
# The researcher's path, rehearsed on a CPU in a few minutes (`make rehearse`, run by .ci/run): the README's
# commands for your own photos and videos, multi-process training, evaluation and sweeps, each run for real at a
# tiny size. What a user types differs only in the sizes (tiny.yaml, read over each config), in the folders make is
# pointed at (MK) and in real Inception and AlexNet weights.
#   bash tests/rehearse.sh [FOLDER]       # default: a fresh temporary folder, removed at the end
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.venv/bin}
R=${1:-$(mktemp -d)}
[ -n "${1:-}" ] || trap 'rm -rf "$R"' EXIT
export WANDB_MODE=offline WANDB_SILENT=true DL_PRECISION_CACHE="$R/precision.json" PYTHONPATH=$PWD
step() { printf '\n== %s\n' "$*"; }
# the EMA generator a run exported (in its logger's folder: <run>/<project>/<run id>/)
exported() { f=$(ls "$1"/*/*/generator_ema.safetensors 2>/dev/null | head -1); test -n "$f" && echo "$f"; }

step "a user's folders: 20 time-lapses as MP4 files, 200 photos as JPEG files"
$BIN/python -m data_prep.user_folders --out "$R/user" --videos 20 --frames 24 --photos 200 --size 64

step "dl-data images / videos (as the README: 256 px there, 32 px here)"
$BIN/dl-data images "$R/user/photos" --out "$R/photos32" --resolution 32
$BIN/dl-data videos "$R/user/videos" --out "$R/videos32" --resolution 32 --frames-per-clip 8

# The tiny sizes, read over each config (--config tiny.yaml after the README's): the code paths are the configs'.
cat > "$R/tiny.yaml" <<YAML
model:
  init_args:
    static_steps: 0   # every step a full one (both discriminators, the stillness term when on)
    generator: {resolution: 32, z_st_dim: 16, z_dyn_dim: 3, w_dim: 32, mapping_layers: 2, channel_base: 256, channel_max: 32}
    discriminator: {resolution: 32, channel_base: 256, channel_max: 32, dyn_resolution: 32, dyn_merge_res: 8}
data:
  init_args: {static_root: $R/photos32, video_root: $R/videos32, resolution: 32, batch_size: 4, num_workers: 1}
trainer: {max_steps: 4, accelerator: cpu, enable_progress_bar: false}
YAML
# what `make` gets besides the README's variables: this venv, the rehearsal's data and segmenter
MK=(--no-print-directory BIN="$BIN" DATA="$R/synth32" SEGMENTER="$R/segmenter/checkpoints/last.ckpt")

# the synthetic world (make's DATA, older than its SEGMENTER): the scene network's world, for make eval and sweep
$BIN/dl-data synthetic --out "$R/synth32" --resolution 32 --num-static 48 --num-videos 8 --frames 8 --workers 1

step "the motion segmenter on the videos' own clip masks (dl-data videos --masks photo)"
$BIN/dl-train fit --config configs/segmenter/synthetic64.yaml --data.init_args.root="$R/videos32" \
  --data.init_args.train_source=videos --data.init_args.resolution=32 --data.init_args.batch_size=8 \
  --trainer.max_steps=4 --trainer.val_check_interval=2 --trainer.accelerator=cpu --trainer.logger=false \
  --trainer.default_root_dir="$R/segmenter"

step "make train CONFIG=configs/gan/256.yaml GPUS=2 (Lightning starts the second process), with the stillness term"
make "${MK[@]}" train CONFIG=configs/gan/256.yaml GPUS=2 ARGS="--config $R/tiny.yaml \
  --model.init_args.still_weight=2 --model.init_args.segmenter=$R/segmenter/checkpoints/last.ckpt \
  --trainer.default_root_dir=$R/run_devices"
test -f "$R/run_devices/checkpoints/last.ckpt"
EMA=$(exported "$R/run_devices")

step "torchrun --nproc_per_node=2 (the launcher starts both ranks)"
$BIN/torchrun --nproc_per_node=2 --master_port=29517 -m dl_lightning.cli.train fit --config configs/gan/256.yaml \
  --config "$R/tiny.yaml" --trainer.devices=2 --trainer.strategy=ddp_gan --trainer.default_root_dir="$R/run_torchrun"
exported "$R/run_torchrun"

step "two nodes x one process over loopback (what SLURM's srun sets up: MASTER_ADDR, NODE_RANK, WORLD_SIZE)"
for node in 1 0; do
  MASTER_ADDR=127.0.0.1 MASTER_PORT=29518 WORLD_SIZE=2 NODE_RANK=$node LOCAL_RANK=0 \
    $BIN/dl-train fit --config configs/gan/256.yaml --config "$R/tiny.yaml" --trainer.num_nodes=2 \
    --trainer.devices=1 --trainer.strategy=ddp_gan --trainer.default_root_dir="$R/run_nodes" > "$R/node$node.log" 2>&1 &
done
wait %1 && wait %2 || { tail -20 "$R"/node*.log; exit 1; }
exported "$R/run_nodes"

step "dl-eval gan --config (the run's still and video folders; Inception: a random-valued stand-in file here)"
$BIN/python -c "import sys; from tests.helpers import write_random_inception_weights as w; w(sys.argv[1])" \
  "$R/pt_inception-2015-12-05-6726825d.pth"
$BIN/dl-eval gan --ckpt "$EMA" --config "$R/tiny.yaml" --features inception \
  --inception-weights "$R/pt_inception-2015-12-05-6726825d.pth" --num 32 --batch 16 \
  --kid-subset-size 16 --per-frame-videos 8 --frames 8 --videos 2 --motion-videos 0 --json "$R/eval.json"
$BIN/python -c "import json, sys; r = json.load(open(sys.argv[1])); assert r['vs_videos']['fid'] > 0 and r['per_frame']" "$R/eval.json"

step "make eval and dl-eval run on a synthetic run (the default's config at 32 px, a checkpoint every 2 steps)"
cat > "$R/synthetic.yaml" <<YAML
model: {init_args: {still_weight: 0, static_steps: 2}}
data: {init_args: {static_root: $R/synth32, video_root: null}}
trainer:
  max_steps: 6
  logger: false
  callbacks:
    - class_path: pytorch_lightning.callbacks.ModelCheckpoint
      init_args: {filename: "step{step:07d}", auto_insert_metric_name: false, every_n_train_steps: 2,
                  save_top_k: -1, save_last: true}
YAML
make "${MK[@]}" train ARGS="--config $R/tiny.yaml --config $R/synthetic.yaml --trainer.default_root_dir=$R/run_synth"
SMALL="--num 16 --batch 8 --workers 1"
make "${MK[@]}" eval CKPT="$R/run_synth/checkpoints/last.ckpt" \
  ARGS="$SMALL --videos 2 --frames 8 --segmenter $R/segmenter/checkpoints/last.ckpt --json $R/synth.json"
$BIN/dl-eval run --run "$R/run_synth" --last 3 --resamples 3 --data "$R/synth32" $SMALL --json "$R/run.json"
$BIN/python -c "import json, sys; s = json.load(open(sys.argv[1]))['summary']; assert s['fd']['mean'] > 0" "$R/run.json"

step "dl-eval photo and dl-eval lpips on a photo animated by dl-animate (LPIPS: a random-valued AlexNet file here)"
$BIN/python -c "import sys, torch, torchvision; torch.save(torchvision.models.alexnet().state_dict(), sys.argv[1])" \
  "$R/alexnet-owt-7be5be79.pth"
$BIN/dl-animate --ckpt "$R/run_synth/checkpoints/last.ckpt" --image tests/data/hills.jpg --size 96 --frames 8 \
  --optim-steps 4 --finetune-steps 2 --no-train --lpips-weights "$R/alexnet-owt-7be5be79.pth" --out "$R/animate-photo"
$BIN/dl-eval photo --image tests/data/hills.jpg --video "$R/animate-photo/photo.mp4" --mask "$R/animate-photo/mask.png" \
  --lpips-weights "$R/alexnet-owt-7be5be79.pth" --json "$R/photo.json"
$BIN/dl-eval lpips "$R/user/photos/IMG_5000.jpg" "$R/user/photos/IMG_5001.jpg" \
  --lpips-weights "$R/alexnet-owt-7be5be79.pth"

step "make sweep: a 2-trial local bayes sweep (Optuna), ranked by the metric its trials log"
$BIN/python - "$R" <<'PY'
import sys, yaml
root = sys.argv[1]
monitor = ["--trainer.callbacks+=dl_lightning.training.callbacks.QualityMonitor", "--trainer.callbacks.every_n_steps=1",
           "--trainer.callbacks.num_samples=16", "--trainer.callbacks.features=random", "--trainer.callbacks.batch=8"]
spec = {"program": "dl-train", "method": "bayes", "metric": {"name": "val/fd_random", "goal": "minimize"},
        "parameters": {"model.init_args.lr_g": {"distribution": "log_uniform_values", "min": 0.001, "max": 0.004},
                       "trainer.max_steps": {"value": 3}},
        "command": ["${env}", "${program}", "fit", "--config", "configs/gan/256.yaml", "--config", f"{root}/tiny.yaml",
                    f"--trainer.default_root_dir={root}/run_sweep", *monitor, "${args}"]}
open(f"{root}/sweep.yaml", "w").write(yaml.safe_dump(spec))
PY
make "${MK[@]}" sweep SWEEP="$R/sweep.yaml" COUNT=2 ARGS=--local
grep -c "^| [12] |" "$R"/run_sweep/sweeps/*/results.md  # both trials ranked
step "rehearsal passed"

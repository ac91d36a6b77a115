# dl_lightning: thin wrappers around the console scripts. Override with VAR=value:
#   CONFIG  training config (default: 64 px synthetic run)     GPUS  devices per node (>1 uses ddp_gan)
#   ARGS    extra arguments for the underlying command          DATA  synthetic dataset folder
#   CKPT    checkpoint for animate/eval                          PY    python used to create .venv
#   SWEEP   W&B sweep file for `make sweep`                      COUNT sweep trials
#   IMAGE   photo for `make animate IMAGE=...`: trains what is missing or older than CKPT first
#           (ENCODER, LIGHTING network A, SEGMENTER), then animates the photo at its own resolution
#   SEGMENTER  dynamic-region segmenter checkpoint (trained by `make train` first if missing)
#   UPSAMPLER  x4 super-resolution checkpoint for photo animation (trained by `make animate IMAGE=` if missing,
#              on HR_DATA, 256 px synthetic renders built on the spot)
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CONFIG ?= configs/gan/synthetic64.yaml
GPUS ?= 1
ARGS ?=
DATA ?= data/synthetic64
CKPT ?= runs/synthetic64/checkpoints/last.ckpt
IMAGE ?=
ENCODER ?= runs/encoder64/checkpoints/last.ckpt
LIGHTING ?= runs/lighting64/checkpoints/last.ckpt
SEGMENTER ?= runs/segmenter64/checkpoints/last.ckpt
UPSAMPLER ?= runs/upsampler256/checkpoints/last.ckpt
HR_DATA ?= data/synthetic256
SWEEP ?= configs/sweeps/gan_synthetic64.yaml
COUNT ?= 4
STAMP := $(VENV)/.installed
STRATEGY := $(if $(filter 1,$(GPUS)),auto,ddp_gan)

.PHONY: install data segmenter upsampler train lint test test-all bench animate eval sweep clean

install: $(STAMP)
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check -e ".[test]"
	@touch $(STAMP)

data: $(DATA)/manifest.json
$(DATA)/manifest.json: | $(STAMP)
	$(BIN)/dl-data synthetic --out $(DATA) --overwrite

segmenter: $(SEGMENTER)
$(SEGMENTER): $(DATA)/manifest.json | $(STAMP)
	$(BIN)/dl-train fit --config configs/segmenter/synthetic64.yaml --data.init_args.root=$(DATA)

upsampler: $(UPSAMPLER)
$(HR_DATA)/manifest.json: | $(STAMP)
	$(BIN)/dl-data synthetic --out $(HR_DATA) --resolution 256 --num-static 384 --num-videos 16 --frames 2 --format png --overwrite
$(UPSAMPLER): $(HR_DATA)/manifest.json | $(STAMP)
	$(BIN)/dl-train fit --config configs/upsampler/synthetic256.yaml --data.init_args.root=$(HR_DATA)

train: install data segmenter
	$(BIN)/dl-train fit --config $(CONFIG) --trainer.devices=$(GPUS) --trainer.strategy=$(STRATEGY) $(ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: install
	$(BIN)/python -m pytest -q $(ARGS)

test-all: install
	$(BIN)/python -m pytest -q -m "" $(ARGS)

$(CKPT):
	@echo "error: no trained GAN at $(CKPT): run 'make train' first, or pass CKPT=path/to/checkpoint" >&2; exit 2

$(ENCODER): $(CKPT) | $(STAMP)
	$(BIN)/dl-train fit --config configs/encoder/synthetic64.yaml --model.init_args.generator_ckpt=$(CKPT) \
		--data.init_args.static_root=$(DATA)
$(LIGHTING): $(CKPT) | $(STAMP)
	$(BIN)/dl-train fit --config configs/lighting/synthetic64.yaml --model.init_args.generator_ckpt=$(CKPT)

animate: install $(if $(IMAGE),$(ENCODER) $(LIGHTING) $(SEGMENTER) $(UPSAMPLER))
	$(BIN)/dl-animate --ckpt $(CKPT) --out outputs/animate$(if $(IMAGE),-photo --image $(IMAGE) --encoder $(ENCODER) \
		--lighting $(LIGHTING) --segmenter $(SEGMENTER) --upsampler $(UPSAMPLER)) $(ARGS)

eval: install data
	$(BIN)/dl-eval gan --ckpt $(CKPT) --data $(DATA) $(ARGS)

sweep: install data
	$(BIN)/python -m dl_lightning.sweep $(SWEEP) --count $(COUNT) $(ARGS)

bench: install
	$(BIN)/python bench/bench.py $(ARGS)

clean:
	rm -rf runs lightning_logs wandb .pytest_cache

# dl_lightning: thin wrappers around the console scripts. Override with VAR=value:
#   CONFIG  training config (default: 64 px synthetic run)     GPUS  devices per node (>1 uses ddp_gan)
#   ARGS    extra arguments for the underlying command          DATA  synthetic dataset folder
#   CKPT    checkpoint for animate/eval                          PY    python used to create .venv
#   SWEEP   W&B sweep file for `make sweep`                      COUNT sweep trials
#   IMAGE   photo for `make animate IMAGE=...`: its moving region comes from the shipped photo segmenter; dl-animate
#           trains the lighting network A beside CKPT first for a moving daytime, then animates at the photo's size
#   animate and demo use CKPT when it is there or given, else the GAN shipped in dl_lightning/assets/
#   SEGMENTER  the GAN's motion segmenter (stillness term, motion metrics; trained by `make train` first if missing)
#   `make demo` serves the photo page for CKPT (ARGS="--port 8080 --host 0.0.0.0" to change where it listens)
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CONFIG ?= configs/gan/synthetic64.yaml
GPUS ?= 1
ARGS ?=
DATA ?= data/synthetic64
# the defaults of checkpoints.py (DEFAULT_GAN, DEFAULT_SEGMENTER): each config's run folder + checkpoints/last.ckpt
CKPT ?= runs/synthetic64/checkpoints/last.ckpt
IMAGE ?=
SEGMENTER ?= runs/segmenter64/checkpoints/last.ckpt
SCENE_NET_RUN := runs/scene_net64/checkpoints/last.ckpt
SWEEP ?= configs/sweeps/gan_synthetic64.yaml
COUNT ?= 4
STAMP := $(VENV)/.installed
STRATEGY := $(if $(filter 1,$(GPUS)),auto,ddp_gan)

.PHONY: install data motion-segmenter segmenter photos photo-bench scene-net upsampler train train-long lint test test-all \
	test-browser test-photos rehearse browser bench animate demo eval sweep clean

install: $(STAMP)
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check -e ".[test]"
	@touch $(STAMP)

data: $(DATA)/manifest.json
$(DATA)/manifest.json: | $(STAMP)
	$(BIN)/dl-data synthetic --out $(DATA) --overwrite

motion-segmenter: $(SEGMENTER)
$(SEGMENTER): $(DATA)/manifest.json | $(STAMP)
	$(BIN)/dl-train fit --config configs/segmenter/synthetic64.yaml --data.init_args.root=$(DATA) \
		--trainer.default_root_dir=$(patsubst %/checkpoints/last.ckpt,%,$(SEGMENTER))

# The photo segmenter, shipped in dl_lightning/assets/: rebuild it (6000 photo-world renders, ~8 min; 2500 steps,
# ~70 min on one core) and export the mean of its last two checkpoints there. `make photo-bench` then measures it.
PHOTO_SEG_RUN := runs/segmenter_photo128/checkpoints/last.ckpt
PHOTO_SEG_AVERAGED := $(dir $(PHOTO_SEG_RUN))step0002000.ckpt $(dir $(PHOTO_SEG_RUN))step0002500.ckpt
segmenter: install
	test -f data/world128/manifest.json || $(BIN)/dl-data world --out data/world128
	$(BIN)/dl-train fit --config configs/segmenter/photo128.yaml
	$(BIN)/python -c "import sys; from dl_lightning.checkpoints import export_segmenter; export_segmenter(sys.argv[1:])" \
	  $(PHOTO_SEG_AVERAGED)

# Real landscape photos from Debian's wallpaper packages (with their licence files) for the photo benchmark.
photos: install
	$(BIN)/python -c "from data_prep.wallpapers import fetch_photos; print(fetch_photos('data/photos'))"

# The moving region on the real photos (hand masks in bench/photo_masks/) and the synthetic hard cases.
photo-bench: photos
	$(BIN)/python bench/real_photos.py $(ARGS)

# The quality metric's scene network, shipped in dl_lightning/assets/: rebuild it (renders with seed 1, which the
# GAN's data never uses; ~20 min on 2 cores), report how well it reads held-out renders, and export it there.
scene-net: install
	test -f data/scenes64/manifest.json || $(BIN)/dl-data synthetic --out data/scenes64 --seed 1 --num-static 4096 --num-videos 0
	$(BIN)/dl-train fit --config configs/scene_net/synthetic64.yaml
	$(BIN)/dl-eval scene-net --scene-net $(SCENE_NET_RUN) --data data/scenes64
	$(BIN)/python -c "from dl_lightning.checkpoints import export_scene_net; export_scene_net('$(SCENE_NET_RUN)')"

upsampler: install
	$(BIN)/python -m dl_lightning.training.companions upsampler

train: install data motion-segmenter
	$(BIN)/dl-train fit --config $(CONFIG) --trainer.devices=$(GPUS) --trainer.strategy=$(STRATEGY) \
		--model.init_args.segmenter=$(SEGMENTER) $(ARGS)

# The long recipe (configs/gan/synthetic64_long.yaml read over the default; 10000 iterations, hours on a CPU), then
# its lighting network A (~1 min), both exported as the GAN shipped in dl_lightning/assets/ (checkpoints.SHIPPED_GAN).
LONG_RUN := runs/synthetic64_long/checkpoints/last.ckpt
train-long: install data motion-segmenter
	$(BIN)/dl-train fit --config configs/gan/synthetic64.yaml --config configs/gan/synthetic64_long.yaml \
		--trainer.devices=$(GPUS) --trainer.strategy=$(STRATEGY) --model.init_args.segmenter=$(SEGMENTER) $(ARGS)
	$(BIN)/python -c "from dl_lightning.training.companions import ship_gan; ship_gan('$(LONG_RUN)')"

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: install
	$(BIN)/python -m pytest -q $(ARGS)

test-all: install browser
	$(BIN)/python -m pytest -q -m "" $(ARGS)

# The researcher's path at a tiny size (~5 min): MP4/JPEG folders -> dl-data -> 2-process, torchrun and 2-node
# training of the 256 px config's code path -> dl-eval gan on separate folders -> a 2-trial sweep: .ci/run runs it.
rehearse: install
	BIN=$(BIN) bash tests/rehearse.sh

# The demo page in a real browser (Debian's chromium, driven by Playwright; ~1.5 min): .ci/run runs it after `test`.
test-browser: install browser
	$(BIN)/python -m pytest -q -m slow tests/test_demo_browser.py $(ARGS)

# The moving region on real photos (fetched from Debian's packages) and the hard cases at 1024 px (~3 min): .ci/run
# runs it after `test`.
test-photos: install
	$(BIN)/python -m pytest -q -m slow tests/test_photo_bench.py tests/test_photo_region.py $(ARGS)

# Debian's Chromium for the browser test (no browser download by Playwright); apt-get as root, else with sudo.
APT := $(if $(filter 0,$(shell id -u)),,sudo) env DEBIAN_FRONTEND=noninteractive apt-get
browser:
	@command -v chromium >/dev/null || { echo "installing Debian's chromium (apt-get, about a minute)"; \
	  $(APT) install -y -q chromium >/dev/null 2>&1 \
	  || { $(APT) update -q >/dev/null && $(APT) install -y -q chromium >/dev/null; } \
	  || { echo "error: could not install chromium: apt-get install chromium, then make test-browser" >&2; exit 2; }; }

# CKPT when it is there or was set, else nothing: the CLIs then take the shipped GAN (checkpoints.find_gan).
GAN_ARG = $(if $(or $(wildcard $(CKPT)),$(filter-out file,$(origin CKPT))),--ckpt $(CKPT))

animate: install
	$(BIN)/dl-animate $(GAN_ARG) --out outputs/animate$(if $(IMAGE),-photo --image $(IMAGE)) $(ARGS)

# A local web page to animate photos (http://127.0.0.1:7860): upload, correct the mask, pick the motion, download.
demo: install
	$(BIN)/dl-demo $(GAN_ARG) $(ARGS)

eval: install data
	$(BIN)/dl-eval gan --ckpt $(CKPT) --data $(DATA) $(ARGS)

sweep: install data motion-segmenter
	$(BIN)/python -m dl_lightning.sweep $(SWEEP) --count $(COUNT) $(ARGS)

bench: install
	$(BIN)/python bench/bench.py $(ARGS)

clean:
	rm -rf runs lightning_logs wandb .pytest_cache

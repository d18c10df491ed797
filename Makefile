# One place for the commands the README shows; .ci/run calls `make install test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
export HF_HUB_OFFLINE=1
export HF_DATASETS_OFFLINE=1
export WANDB_MODE=offline
export HF_HUB_DISABLE_TELEMETRY=1
export TOKENIZERS_PARALLELISM=false

.PHONY: install test lint demo clean

$(VENV)/.installed: requirements-cpu.txt setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip
	# torch first, from the pinned CPU wheel, so no CUDA build is ever resolved.
	$(PIP) install -r requirements-cpu.txt
	$(PIP) install -e ".[dev,demo]"
	touch $@

install: $(VENV)/.installed

test: install
	$(PY) -m pytest -q tests

# The main job on the embedded default, offline on CPU: sample -> prepare -> accelerate launch train.py
# configs/demo_cpu.yaml -> held-out evaluation -> reload -> predict. Everything goes to outputs/demo/.
demo: install
	$(PY) -m astrobio_hf.demo --output outputs/demo

lint: install
	$(VENV)/bin/ruff check astrobio_hf tests

clean:
	rm -rf $(VENV) build *.egg-info

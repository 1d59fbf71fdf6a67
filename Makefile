# smk8s developer entry points. Everything installs into .venv from pyproject.toml.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
RUN_DIR ?= .run

.PHONY: all venv test lint typecheck unit run bench clean

all: test

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy --strict

unit: $(STAMP)
	$(BIN)/pytest -q -n 2

# The README's test command: lint, type-check, then the whole suite.
test: lint typecheck unit

# Until the controllers exist, `make run` brings up the emulated Kubernetes API server and writes its kubeconfig
# to $(RUN_DIR)/kubeconfig; point kubectl at it with KUBECONFIG=$(RUN_DIR)/kubeconfig.
run: $(STAMP)
	@mkdir -p $(RUN_DIR)
	@echo "kubeconfig: $(RUN_DIR)/kubeconfig  (export KUBECONFIG=$$(pwd)/$(RUN_DIR)/kubeconfig)"
	$(BIN)/smk8s emulate kube --port 0 --kubeconfig $(RUN_DIR)/kubeconfig

bench: $(STAMP)
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) $(RUN_DIR) .mypy_cache .pytest_cache .ruff_cache

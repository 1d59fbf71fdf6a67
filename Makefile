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
	$(BIN)/ruff check src tests benchmarks hack

typecheck: $(STAMP)
	$(BIN)/mypy --strict

unit: $(STAMP)
	$(BIN)/pytest -q -n 2

# The README's test command: lint, type-check, then the whole suite.
test: lint typecheck unit

# Until the controllers exist, `make run` brings up the emulators: the Kubernetes API server (kubeconfig in
# $(RUN_DIR)/kubeconfig) and the AWS services (endpoint and credentials in $(RUN_DIR)/aws.env).
run: $(STAMP)
	@mkdir -p $(RUN_DIR)
	@echo "export KUBECONFIG=$$(pwd)/$(RUN_DIR)/kubeconfig; . $(RUN_DIR)/aws.env   # in another shell"
	$(BIN)/smk8s emulate all --dir $(RUN_DIR) --time-scale 60

bench: $(STAMP)
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) $(RUN_DIR) .mypy_cache .pytest_cache .ruff_cache

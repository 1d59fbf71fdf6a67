# smk8s developer entry points. Everything installs into .venv from pyproject.toml.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

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

# `make run`: both emulators, the CRDs and the controller-manager on this machine (`smk8s dev`): a kubeconfig in
# $(DEV_DIR)/kubeconfig, the emulated AWS endpoint in $(DEV_DIR)/aws.env, the manager's log in $(DEV_DIR)/manager.log.
# It prints what to type in another shell; Ctrl-C stops everything. TIME_SCALE compresses SageMaker's lifecycles.
DEV_DIR ?= .smk8s
TIME_SCALE ?= 30
run: $(STAMP)
	$(BIN)/smk8s dev --dir $(DEV_DIR) --time-scale $(TIME_SCALE)

bench: $(STAMP)
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) $(DEV_DIR) .run .mypy_cache .pytest_cache .ruff_cache

# `make manifests`: the API models (hack/generate_api.py, from botocore's SageMaker model), the CRDs in config/crd
# (hack/generate_crds.py, from the models), the RBAC roles (hack/generate_rbac.py, from src/smk8s/rbac.py), then the
# installers in release/ and the Helm charts' generated files (hack/generate_release.py, from config/). Tests fail
# when any of them is stale.
manifests: $(STAMP)
	$(BIN)/python hack/generate_api.py
	$(BIN)/python hack/generate_crds.py
	$(BIN)/python hack/generate_rbac.py
	$(BIN)/python hack/generate_release.py

# `make docker-build`: the controller-manager image (Dockerfile); IMG=registry/smk8s:tag to name it.
IMG ?= smk8s:0.1.0
docker-build:
	docker build -t $(IMG) .

.PHONY: manifests docker-build

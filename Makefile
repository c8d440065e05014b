# The README's commands. Each target sets up what it needs (virtual environments made here).
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -ec
# pip's index config on these machines warns about every missing mirror folder: keep the output readable.
QUIET_PIP := 2>&1 | { grep -v 'is ignored: it is neither a file nor a directory' || true; }
PYTHON ?= python3.11
# uv installs the environments from the hashed locks in locks/; INSTALLER=pip does the same with
# pip (`pip install --require-hashes -r locks/<env>.txt`) for machines where uv is unwanted.
INSTALLER ?= uv
VENV := .venv
VENV_ML := .venv-ml
VENV_CHECKOV := .venv-checkov
VENV_TOOLS := .venv-tools
VENV_SDK := .venv-sdk
# torch-xla's CPU device for the Trainium (XLA) branch of `neural`: its own torch, ~7 GB (make test-xla).
VENV_XLA := .venv-xla
PY := $(VENV)/bin/python
PY_ML := $(VENV_ML)/bin/python
PY_SDK := $(VENV_SDK)/bin/python
TOOLS := $(VENV_TOOLS)/bin
UV := $(TOOLS)/uv
ML_REQUIREMENTS := docker/processing/requirements.txt docker/training/requirements.txt docker/inference/requirements.txt docker/requirements-test.txt
# The CPU build of torch that these machines keep on disk (pip's find-links); uv is pointed at it
# explicitly, as uv reads no pip config. Without it the ML lock's torch==2.13.0+cpu is not found.
TORCH_WHEELS ?= /opt/wheels
FIND_TORCH := $(if $(wildcard $(TORCH_WHEELS)),--find-links $(TORCH_WHEELS))
# MWAA's constraints for Airflow 3.3.1 on Python 3.12, read (never copied) by `make lock`.
MWAA_CONSTRAINTS ?= ../shared/mwaa/airflow-3.3.1-constraints-py3.12.txt
LOCK_OPTIONS := --python-platform x86_64-unknown-linux-gnu --custom-compile-command 'make lock'
PYTEST_ARGS ?=

export MLOPS_ML_PYTHON := $(abspath $(PY_ML))
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: help venv venv-ml venv-checkov venv-tools venv-sdk venv-xla experiment node-tools lock test test-xla lint demo airflow bench bench-xla bundle clean

help:
	@echo "make demo    - run the whole pipeline locally (train, evaluate, deploy, batch inference) for every model of 3 countries (DE with its batteries scheme, FR, GB) x 2 months"
	@echo "make test    - run the test suite"
	@echo "make test-xla - train neural through its Trainium (XLA) branch on torch-xla's CPU device, serve it on CPU torch (.venv-xla, ~4 GB download)"
	@echo "make lint    - ruff, mypy, hadolint, check-jsonschema and the Terraform format check"
	@echo "make lock    - regenerate the hashed locks in locks/ from the requirements files"
	@echo "make bench   - measure parse times, image throughput, demo wall time (writes bench/results.json)"
	@echo "make bench-xla - neural training items/s on torch-xla's CPU device vs plain CPU (bench/results/xla.json)"
	@echo "make bundle  - write dist/mwaa/ exactly as MWAA takes it"
	@echo "make airflow - airflow standalone wired to the local AWS + SageMaker stack"
	@echo "make experiment ARGS=... - launch/list/approve/reject with the SageMaker Python SDK (scripts/experiment.py)"

# venv_install(venv dir, lock file, extra installer options): a fresh or existing venv holding
# exactly the lock. Stamp files re-run it whenever the lock changes; flock keeps parallel
# invocations from installing into the same environment at once. Its file is not `.lock`: uv
# locks `<venv>/.lock` itself, and an outer flock on that file made uv wait out its 5-minute
# lock timeout on every environment.
ifeq ($(INSTALLER),uv)
define venv_install
	@test -x $(1)/bin/python || $(UV) venv -q --python $(PYTHON) $(1)
	flock $(1)/.install.lock $(UV) pip sync -q --python $(1)/bin/python --require-hashes $(3) $(2)
endef
# The repository's own packages (no dependencies: those are in the lock), editable.
define venv_editable
	$(UV) pip install -q --python $(1)/bin/python --no-deps -e $(2)
endef
else ifeq ($(INSTALLER),pip)
define venv_install
	@test -x $(1)/bin/python || $(PYTHON) -m venv $(1)
	flock $(1)/.install.lock $(1)/bin/python -m pip install -q --disable-pip-version-check --require-hashes -r $(2) $(QUIET_PIP)
endef
define venv_editable
	$(1)/bin/python -m pip install -q --disable-pip-version-check --no-deps -e $(2) $(QUIET_PIP)
endef
else
$(error INSTALLER must be uv or pip, not '$(INSTALLER)')
endif

# The tools environment is always bootstrapped by pip: it brings uv (hashed, locks/uv.txt).
$(VENV_TOOLS)/.stamp: locks/venv-tools.txt locks/uv.txt
	@test -x $(TOOLS)/python || $(PYTHON) -m venv $(VENV_TOOLS)
	flock $(VENV_TOOLS)/.install.lock $(TOOLS)/python -m pip install -q --disable-pip-version-check --require-hashes -r locks/uv.txt $(QUIET_PIP)
ifeq ($(INSTALLER),uv)
	flock $(VENV_TOOLS)/.install.lock $(UV) pip install -q --python $(TOOLS)/python --require-hashes -r locks/venv-tools.txt
else
	flock $(VENV_TOOLS)/.install.lock $(TOOLS)/python -m pip install -q --disable-pip-version-check --require-hashes -r locks/venv-tools.txt $(QUIET_PIP)
endif
	@touch $@

$(VENV)/.stamp: locks/venv.txt pyproject.toml $(VENV_TOOLS)/.stamp
	$(call venv_install,$(VENV),locks/venv.txt,)
	$(call venv_editable,$(VENV),.)
	@touch $@

$(VENV_ML)/.stamp: locks/venv-ml.txt docker/common/pyproject.toml $(VENV_TOOLS)/.stamp
	$(call venv_install,$(VENV_ML),locks/venv-ml.txt,$(FIND_TORCH))
	$(call venv_editable,$(VENV_ML),docker/common)
	@touch $@

$(VENV_CHECKOV)/.stamp: locks/venv-checkov.txt $(VENV_TOOLS)/.stamp
	$(call venv_install,$(VENV_CHECKOV),locks/venv-checkov.txt,)
	@touch $@

$(VENV_SDK)/.stamp: locks/venv-sdk.txt $(VENV_TOOLS)/.stamp
	$(call venv_install,$(VENV_SDK),locks/venv-sdk.txt,)
	@touch $@

$(VENV_XLA)/.stamp: locks/venv-xla.txt $(VENV_TOOLS)/.stamp
	$(call venv_install,$(VENV_XLA),locks/venv-xla.txt,)
	@touch $@

# HCL's own formatter (WASM, npm) for the Terraform format check.
terraform/tools/node_modules/.stamp: terraform/tools/package.json terraform/tools/package-lock.json
	cd terraform/tools && npm ci --silent --no-audit --no-fund
	@touch $@

venv-tools: $(VENV_TOOLS)/.stamp
venv: $(VENV)/.stamp
venv-ml: $(VENV_ML)/.stamp
# checkov (tests/terraform) lives apart: its pins clash with Airflow's.
venv-checkov: $(VENV_CHECKOV)/.stamp
# The SageMaker Python SDK v3 (scripts/experiment.py): its pins clash with MWAA's constraints.
venv-sdk: $(VENV_SDK)/.stamp
# torch-xla 2.9.0 is built for torch 2.9.0 (PyPI's CUDA build, with the nvidia-*-cu12 wheels), not
# .venv-ml's 2.13.0+cpu: an environment of its own, outside `make test`.
venv-xla: $(VENV_XLA)/.stamp
node-tools: terraform/tools/node_modules/.stamp

# Locks, one per environment, for Linux x86_64 and the local Python 3.11. The Airflow side is
# resolved under MWAA's constraints; locks/mwaa-py312.txt resolves what MWAA itself installs
# (its image's Airflow + requirements.txt) for Python 3.12 under the same constraints, so a pin
# that has no 3.12 solution fails here. No hashes there: it is a record, never installed.
lock: $(VENV_TOOLS)/.stamp
	@test -f $(MWAA_CONSTRAINTS) || { echo "MWAA constraints not found at $(MWAA_CONSTRAINTS): set MWAA_CONSTRAINTS=<path of constraints-3.12.txt for Airflow 3.3.1>" >&2; exit 1; }
	$(UV) pip compile -q --generate-hashes --python-version 3.11 $(LOCK_OPTIONS) -o locks/uv.txt <(grep '^uv==' requirements-tools.txt)
	$(UV) pip compile -q --generate-hashes --python-version 3.11 $(LOCK_OPTIONS) -o locks/venv-tools.txt requirements-tools.txt
	$(UV) pip compile -q --generate-hashes --python-version 3.11 $(LOCK_OPTIONS) -o locks/venv.txt -c $(MWAA_CONSTRAINTS) requirements-dev.txt
	$(UV) pip compile -q --generate-hashes --python-version 3.11 $(LOCK_OPTIONS) -o locks/venv-ml.txt $(FIND_TORCH) $(ML_REQUIREMENTS)
	$(UV) pip compile -q --generate-hashes --python-version 3.11 $(LOCK_OPTIONS) -o locks/venv-checkov.txt terraform/requirements-checkov.txt
	$(UV) pip compile -q --generate-hashes --python-version 3.11 $(LOCK_OPTIONS) -o locks/venv-sdk.txt requirements-sdk.txt
	$(UV) pip compile -q --generate-hashes --python-version 3.11 $(LOCK_OPTIONS) -o locks/venv-xla.txt requirements-xla.txt
	$(UV) pip compile -q --python-version 3.12 $(LOCK_OPTIONS) -o locks/mwaa-py312.txt -c $(MWAA_CONSTRAINTS) \
	  <(grep -v '^--constraint' requirements.txt; grep -E '^apache-airflow(-providers-amazon)?==' requirements-dev.txt)

lint: venv-tools venv node-tools
	$(TOOLS)/ruff check .
	$(TOOLS)/ruff format --check .
	$(TOOLS)/mypy --python-executable $(PY)
	$(TOOLS)/check-jsonschema --builtin-schema vendor.gitlab-ci --data-transform gitlab-ci .gitlab-ci.yml
	find docker -name 'Dockerfile*' -print0 | xargs -0 -r $(TOOLS)/hadolint
	node terraform/tools/hcl_format.mjs --check

# Two environments, as in production: the Airflow side (.venv) and the images (.venv-ml); then
# the SDK tool's tests from .venv-sdk (they start the local stack from .venv as a subprocess).
test: venv venv-ml venv-checkov venv-tools venv-sdk node-tools
	$(PY_ML) -m pytest tests/images $(PYTEST_ARGS)
	$(PY) -m pytest --ignore=tests/images --ignore=tests/sdk $(PYTEST_ARGS)
	$(PY_SDK) -m pytest tests/sdk $(PYTEST_ARGS)

# Data scientists' experiments and registry chores on the SageMaker Python SDK v3, e.g.
# make experiment ARGS="launch gb --set alpha=0.0001"   (scripts/experiment.py --help)
experiment: venv-sdk
	$(PY_SDK) scripts/experiment.py $(ARGS)

# Training in .venv-xla on PJRT's CPU device (device=xla); prepare and serve in .venv-ml, as in
# the images. Without torch_xla, tests/xla skips itself (so `make test` collects and skips it).
test-xla: venv-xla venv-ml
	PJRT_DEVICE=CPU $(VENV_XLA)/bin/python -m pytest tests/xla $(PYTEST_ARGS)

bundle: venv
	$(PY) scripts/bundle_mwaa.py dist/mwaa

demo: venv venv-ml
	$(PY) -m local.demo $(DEMO_ARGS)

airflow: venv venv-ml
	$(PY) -m local.airflow_standalone

bench: venv venv-ml
	$(PY) -m bench.run

bench-xla: venv venv-ml venv-xla
	$(PY) -m bench.run xla

clean:
	rm -rf dist .pytest_cache .local-stack

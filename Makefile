# The README's commands. Each target sets up what it needs (virtual environments made here).
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -ec
# pip's index config on these machines warns about every missing mirror folder: keep the output readable.
QUIET_PIP := 2>&1 | { grep -v 'is ignored: it is neither a file nor a directory' || true; }
PYTHON ?= python3.11
VENV := .venv
VENV_ML := .venv-ml
VENV_CHECKOV := .venv-checkov
PY := $(VENV)/bin/python
PY_ML := $(VENV_ML)/bin/python
ML_REQUIREMENTS := docker/processing/requirements.txt docker/training/requirements.txt docker/inference/requirements.txt docker/requirements-test.txt
PYTEST_ARGS ?=

export MLOPS_ML_PYTHON := $(abspath $(PY_ML))
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: help venv venv-ml venv-checkov test lint demo airflow bench bundle clean

help:
	@echo "make demo    - run the whole pipeline locally (train, evaluate, deploy, batch inference) for 3 countries x 2 months"
	@echo "make test    - run the test suite"
	@echo "make bench   - measure parse times, image throughput, demo wall time (writes bench/results.json)"
	@echo "make bundle  - write dist/mwaa/ exactly as MWAA takes it"
	@echo "make airflow - airflow standalone wired to the local AWS + SageMaker stack"

# Stamp files re-run the install whenever a requirements file changes; flock keeps parallel
# invocations from installing into the same environment at once.
$(VENV)/.stamp: requirements-dev.txt requirements.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	flock $(VENV)/.lock $(PY) -m pip install -q --disable-pip-version-check -r requirements-dev.txt $(QUIET_PIP)
	@touch $@

$(VENV_ML)/.stamp: $(ML_REQUIREMENTS)
	@test -x $(PY_ML) || $(PYTHON) -m venv $(VENV_ML)
	flock $(VENV_ML)/.lock $(PY_ML) -m pip install -q --disable-pip-version-check $(addprefix -r ,$(ML_REQUIREMENTS)) $(QUIET_PIP)
	@touch $@

$(VENV_CHECKOV)/.stamp: terraform/requirements-checkov.txt
	@test -x $(VENV_CHECKOV)/bin/python || $(PYTHON) -m venv $(VENV_CHECKOV)
	flock $(VENV_CHECKOV)/.lock $(VENV_CHECKOV)/bin/python -m pip install -q --disable-pip-version-check -r terraform/requirements-checkov.txt $(QUIET_PIP)
	@touch $@

venv: $(VENV)/.stamp
venv-ml: $(VENV_ML)/.stamp
# checkov (tests/terraform) lives apart: its pins clash with Airflow's.
venv-checkov: $(VENV_CHECKOV)/.stamp

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# Two environments, as in production: the Airflow side (.venv) and the images (.venv-ml).
test: venv venv-ml venv-checkov
	$(PY_ML) -m pytest tests/images $(PYTEST_ARGS)
	$(PY) -m pytest --ignore=tests/images $(PYTEST_ARGS)

bundle: venv
	$(PY) scripts/bundle_mwaa.py dist/mwaa

demo: venv venv-ml
	$(PY) -m local.demo $(DEMO_ARGS)

airflow: venv venv-ml
	$(PY) -m local.airflow_standalone

bench: venv venv-ml
	$(PY) -m bench.run

clean:
	rm -rf dist .pytest_cache .local-stack

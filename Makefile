# Every target sets itself up: a fresh clone needs only Python 3.11 (and Java 17 for Spark).
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
SAM_VENV := .venv-sam
CHECKOV_VENV := .venv-checkov
# sam build needs the Lambda runtime's python3.13 on PATH; pyenv provides it on these machines.
export PYENV_VERSION ?= 3.11.7:3.13.0
export AWS_DEFAULT_REGION ?= us-east-1
ENV ?= dev

.PHONY: help setup demo test test-fast lint format build deploy bench clean

help:
	@echo "make demo     run the whole pipeline locally (no AWS account, no Docker)"
	@echo "make test     set up and run lint + unit, integration, infrastructure and e2e tests"
	@echo "make lint     ruff, mypy, import contracts, cfn-lint (+serverless rules), sam validate --lint, checkov"
	@echo "make build    sam build (Lambda runtime python3.13)"
	@echo "make deploy   package the job code and sam deploy --config-env \$$ENV (any samconfig environment)"
	@echo "make bench    run every benchmark under bench/ and write docs/performance.md"

# The project's packages are installed editable: mlops-common (the Lambda layer), mlops-planning
# and mlops-local (the local runtime, with its console script mlops-local).
PACKAGES := layers/common planning local
$(VENV)/.installed: pyproject.toml $(addsuffix /pyproject.toml,$(PACKAGES))
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet $(addprefix -e ,$(PACKAGES)) ".[ml,glue,dev]"
	touch $@

$(SAM_VENV)/.installed: requirements/sam.txt
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install --quiet -r requirements/sam.txt
	touch $@

$(CHECKOV_VENV)/.installed: requirements/checkov.txt
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet -r requirements/checkov.txt
	touch $@

setup: $(VENV)/.installed $(SAM_VENV)/.installed $(CHECKOV_VENV)/.installed

demo: $(VENV)/.installed
	$(VENV)/bin/mlops-local demo

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports
	$(VENV)/bin/cfn-lint template.yaml --append-rules cfn_lint_serverless.rules
	$(SAM_VENV)/bin/sam validate --lint --template template.yaml
	$(CHECKOV_VENV)/bin/checkov --quiet --compact --framework cloudformation --skip-download -f template.yaml

format: $(VENV)/.installed
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

test: lint
	$(VENV)/bin/pytest -n 2 --dist loadfile tests

test-fast: $(VENV)/.installed
	$(VENV)/bin/pytest -m "not slow and not e2e and not infra" tests

build: $(SAM_VENV)/.installed
	PATH="$$(pyenv root 2>/dev/null)/shims:$$PATH" $(SAM_VENV)/bin/sam build --template template.yaml

# Uploads the Glue/SageMaker code by content hash, then runs sam deploy with CodeVersion set.
deploy: build $(VENV)/.installed
	$(PY) scripts/package_code.py --config-env $(ENV) --sam $(SAM_VENV)/bin/sam

bench: $(VENV)/.installed
	PYTHONPATH=training:monitoring:glue $(PY) -m bench

clean:
	rm -rf .aws-sam .local .pytest_cache .mypy_cache .ruff_cache

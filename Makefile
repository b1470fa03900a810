# Every target sets itself up: a fresh clone needs only Python 3.11 (and Java 17 for Spark).
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
SAM_VENV := .venv-sam
CHECKOV_VENV := .venv-checkov
MUTATION_VENV := .venv-mutation
LAMBDA_VENV := .venv-lambda
# The Lambda runtime's Python (template.yaml Globals: Runtime python3.13).
LAMBDA_PYTHON ?= python3.13
MUTATION_DIR := build/mutation
# make mutation fails below this mutation score (%) of mlops_common.domain.
MUTATION_MIN_SCORE ?= 95
# sam build needs the Lambda runtime's python3.13 on PATH; pyenv provides it on these machines.
export PYENV_VERSION ?= 3.11.7:3.13.0
export AWS_DEFAULT_REGION ?= us-east-1
# Bytecode: uv installs none, and where PYTHONDONTWRITEBYTECODE is set no interpreter writes any, so
# each interpreter the tests and the demo start (pytest's workers, each Glue job's driver and Spark's
# Python workers, each training job) compiled pandas, torch, moto... from source again: half of a
# Spark Python worker's time in the end-to-end tests. make's commands keep all bytecode in one
# folder out of the source tree instead, written by the first interpreter that imports a module.
# Measured on 2 cores, main pytest: 460 s -> 381 s from a fresh clone, 366 s once the folder is
# filled; compiling every environment at install instead (uv --compile-bytecode) cost 25 s more.
export PYTHONPYCACHEPREFIX ?= $(CURDIR)/build/pycache
unexport PYTHONDONTWRITEBYTECODE

ENV ?= dev

.PHONY: help setup lock demo test test-fast test-lambda-py313 lint lint-code lint-template format build deploy bench mutation clean

help:
	@echo "make demo     run the whole pipeline locally (no AWS account, no Docker)"
	@echo "make test     set up and run lint + unit, integration, infrastructure and e2e tests"
	@echo "make test-lambda-py313  the Lambda side's tests on the Lambda runtime's python3.13"
	@echo "make lint     ruff, mypy, import contracts, cfn-lint (+serverless rules), sam validate --lint, checkov"
	@echo "make build    sam build (Lambda runtime python3.13)"
	@echo "make deploy   package the job code and sam deploy --config-env \$$ENV (any samconfig environment)"
	@echo "make bench    run every benchmark under bench/ and write docs/performance.md"
	@echo "make lock     compile requirements/lock/*.txt again (uv) after a pin changes"
	@echo "make mutation mutation-test mlops_common.domain against its unit tests (minutes)"

# Every virtualenv is built by uv from a lockfile uv compiled (requirements/lock/*.txt: every
# package pinned, transitive ones included; `make lock` compiles them again after a pin changes).
# Without uv, `python -m venv .venv && .venv/bin/pip install -r requirements/lock/dev.txt
# torch==2.13.0` builds the same environment, only more slowly.
UV_VERSION := 0.13.9
UV_VENV := .venv-uv
UV := $(UV_VENV)/bin/uv
# uv reads no pip configuration: a folder of local wheels pip is told of (PIP_FIND_LINKS, e.g. a CPU
# build of torch) is handed to uv too.
ifdef PIP_FIND_LINKS
export UV_FIND_LINKS ?= $(PIP_FIND_LINKS)
endif
# torch is installed beside the lock, not from it: PyPI's Linux torch is the CUDA build, so where a
# machine offers a CPU build (find-links) that one is taken; its dependencies are in the lock.
TORCH := torch==2.13.0
LOCK_FLAGS := --quiet --python-platform x86_64-unknown-linux-gnu

$(UV):
	$(PYTHON) -m venv $(UV_VENV)
	$(UV_VENV)/bin/pip install --quiet uv==$(UV_VERSION)

# The project's packages are installed editable: mlops-common (the Lambda layer), mlops-planning
# and mlops-local (the local runtime, with its console script mlops-local); requirements/dev.in.
PACKAGES := layers/common planning local
$(VENV)/.installed: requirements/lock/dev.txt | $(UV)
	rm -rf $(VENV)
	$(UV) venv --quiet --python $(PYTHON) $(VENV)
	$(UV) pip install --quiet --python $(VENV)/bin/python -r requirements/lock/dev.txt $(TORCH)
	touch $@

$(SAM_VENV)/.installed: requirements/lock/sam.txt | $(UV)
	rm -rf $(SAM_VENV)
	$(UV) venv --quiet --python $(PYTHON) $(SAM_VENV)
	$(UV) pip install --quiet --python $(SAM_VENV)/bin/python -r requirements/lock/sam.txt
	touch $@

$(CHECKOV_VENV)/.installed: requirements/lock/checkov.txt | $(UV)
	rm -rf $(CHECKOV_VENV)
	$(UV) venv --quiet --python $(PYTHON) $(CHECKOV_VENV)
	$(UV) pip install --quiet --python $(CHECKOV_VENV)/bin/python -r requirements/lock/checkov.txt
	touch $@

$(MUTATION_VENV)/.installed: requirements/lock/mutation.txt | $(UV)
	rm -rf $(MUTATION_VENV)
	$(UV) venv --quiet --python $(PYTHON) $(MUTATION_VENV)
	$(UV) pip install --quiet --python $(MUTATION_VENV)/bin/python -r requirements/lock/mutation.txt
	touch $@

# The Lambda side's tests on the Lambda runtime's Python: the layer editable, its pins and the test
# pins, nothing else (requirements/lambda-tests.txt). planning and local come without their
# dependencies: the tests' harness imports only the local runtime's engine (template, moto fixes).
$(LAMBDA_VENV)/.installed: requirements/lock/lambda-tests.txt $(addsuffix /pyproject.toml,$(PACKAGES)) | $(UV)
	rm -rf $(LAMBDA_VENV)
	PATH="$$(pyenv root 2>/dev/null)/shims:$$PATH" $(UV) venv --quiet --python $(LAMBDA_PYTHON) $(LAMBDA_VENV)
	$(UV) pip install --quiet --python $(LAMBDA_VENV)/bin/python -r requirements/lock/lambda-tests.txt -e layers/common
	$(UV) pip install --quiet --python $(LAMBDA_VENV)/bin/python --no-deps -e planning -e local
	touch $@

# Compiles every lockfile from its inputs (pins in pyproject.toml files and requirements/*.txt).
lock: | $(UV)
	$(UV) pip compile $(LOCK_FLAGS) --python-version 3.11 --no-emit-package torch \
		requirements/dev.in -o requirements/lock/dev.txt
	$(UV) pip compile $(LOCK_FLAGS) --python-version 3.11 requirements/sam.txt -o requirements/lock/sam.txt
	$(UV) pip compile $(LOCK_FLAGS) --python-version 3.11 requirements/checkov.txt -o requirements/lock/checkov.txt
	$(UV) pip compile $(LOCK_FLAGS) --python-version 3.11 requirements/mutation.txt -o requirements/lock/mutation.txt
	$(UV) pip compile $(LOCK_FLAGS) --python-version 3.13 requirements/lambda-tests.txt \
		-o requirements/lock/lambda-tests.txt

# The virtualenvs are independent: built side by side (mostly downloads and unpacking).
ENVIRONMENTS := $(VENV)/.installed $(SAM_VENV)/.installed $(CHECKOV_VENV)/.installed $(LAMBDA_VENV)/.installed
setup:
	@$(MAKE) --no-print-directory -j4 $(ENVIRONMENTS)

demo: $(VENV)/.installed
	$(VENV)/bin/mlops-local demo

# The code's checks and the template's checks are independent: side by side (mypy alone takes as
# long as the three template tools), each group's output printed whole when it ends.
lint: setup
	@$(MAKE) --no-print-directory -j2 --output-sync=target lint-code lint-template

lint-code:
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

lint-template:
	$(VENV)/bin/cfn-lint template.yaml --append-rules cfn_lint_serverless.rules
	$(SAM_VENV)/bin/sam validate --lint --template template.yaml
	$(CHECKOV_VENV)/bin/checkov --quiet --compact --framework cloudformation --skip-download -f template.yaml

format: $(VENV)/.installed
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# lint has just run sam validate, cfn-lint and checkov over template.yaml; the tests marked
# `scanners` run the same three tools again (for a plain `pytest`), so make test leaves them out.
test: lint
	$(VENV)/bin/pytest -n 2 --dist loadfile -m "not scanners" tests
	$(MAKE) test-lambda-py313

# The tests run two workers on two cores: OpenMP threads that spin between parallel regions take
# the core the other worker needs, so they sleep instead (bench/train.py: 2.95x faster under load;
# on an idle machine spinning is about 1.4x faster, so make demo and make bench keep the default).
test test-fast test-lambda-py313: export OMP_WAIT_POLICY = PASSIVE

LAMBDA_TESTS := tests/unit/mlops_common tests/unit/functions tests/integration/functions
test-lambda-py313: $(LAMBDA_VENV)/.installed
	$(LAMBDA_VENV)/bin/pytest -n 2 --dist loadfile $(LAMBDA_TESTS)

test-fast: $(VENV)/.installed
	$(VENV)/bin/pytest -m "not slow and not e2e and not infra" tests

build: $(SAM_VENV)/.installed
	PATH="$$(pyenv root 2>/dev/null)/shims:$$PATH" $(SAM_VENV)/bin/sam build --template template.yaml

# Uploads the Glue/SageMaker code by content hash, then runs sam deploy with CodeVersion set.
deploy: build $(VENV)/.installed
	$(PY) scripts/package_code.py --config-env $(ENV) --sam $(SAM_VENV)/bin/sam

bench: $(VENV)/.installed
	PYTHONPATH=training:monitoring:glue $(PY) -m bench

# mutmut works in the folder it runs from and names mutants after module paths from there, so it
# runs in a fresh copy with mlops_common at its root ([tool.mutmut] in pyproject.toml). Not part of
# make test: docs/mutation-testing.md says when to run it and lists every surviving mutant.
mutation: $(MUTATION_VENV)/.installed
	rm -rf $(MUTATION_DIR) && mkdir -p $(MUTATION_DIR)/tests/unit/mlops_common
	cp -r pyproject.toml layers/common/mlops_common $(MUTATION_DIR)/
	cp -r tests/conftest.py tests/events $(MUTATION_DIR)/tests/
	cp -r tests/unit/mlops_common/domain $(MUTATION_DIR)/tests/unit/mlops_common/
	cd $(MUTATION_DIR) && $(CURDIR)/$(MUTATION_VENV)/bin/mutmut run
	cd $(MUTATION_DIR) && $(CURDIR)/$(MUTATION_VENV)/bin/mutmut results
	cd $(MUTATION_DIR) && $(CURDIR)/$(MUTATION_VENV)/bin/mutmut export-cicd-stats
	$(MUTATION_VENV)/bin/python -c 'import json, sys; s = json.load(open("$(MUTATION_DIR)/mutants/mutmut-cicd-stats.json")); \
		killed, tried = s["killed"] + s["timeout"], s["total"] - s["skipped"]; score = 100 * killed / tried; \
		print(f"mutation score {score:.1f} % ({killed} of {tried} killed), floor $(MUTATION_MIN_SCORE) %"); \
		sys.exit(score < $(MUTATION_MIN_SCORE))'

clean:
	rm -rf .aws-sam .local .pytest_cache .mypy_cache .ruff_cache $(MUTATION_DIR) build/pycache

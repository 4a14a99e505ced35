# Two commands on a fresh machine: `make demo` and `make test`. Both set everything up.
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
# the sagemaker SDK v3 tier's own venv (SDK 3 and SDK 2 cannot share one): tests/sdk3/requirements.txt only
VENV3  := .venv-sdk3
STAMP3 := $(VENV3)/.installed-stamp

.PHONY: install engines demo test test-fast test-sdk3 sdk3-venv lint bench up images clean fuzz conformance

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# wheels only: an sdist in SDK 3's tree (aiobotocore's history) would be built on every backtrack
$(STAMP3): tests/sdk3/requirements.txt
	python3 -m venv $(VENV3)
	$(VENV3)/bin/pip install --quiet --upgrade pip
	$(VENV3)/bin/pip install --quiet --only-binary=:all: -r tests/sdk3/requirements.txt
	touch $(STAMP3)

sdk3-venv: $(STAMP3)

# Debian's docker.io and debootstrap where missing, and a running Docker engine (scripts/engines.sh says
# what it does; nothing is done twice)
engines:
	@scripts/engines.sh

demo: install
	$(PY) examples/demo.py

# the whole suite, as CI runs it: every set-up step first (each cached), then ruff, the import
# contracts and pytest
test: install lint images sdk3-venv
	$(VENV)/bin/pytest -q -ra
	$(MAKE) test-sdk3

# the sagemaker SDK v3 tier: v3's pytest, the server run by the dev venv's python (see tests/sdk3/conftest.py)
test-sdk3: install sdk3-venv
	MLHARBOR_SERVER_PYTHON=$(abspath $(PY)) $(VENV3)/bin/pytest -q -ra --confcutdir=tests/sdk3 tests/sdk3

# the in-process tier only (tests/api: no mlharbor up subprocess, no job process); `make test` runs it too
test-fast: install
	$(VENV)/bin/pytest -q -ra -m inprocess tests/api

# ruff, then the import contracts in pyproject.toml ([tool.importlinter]): the layout's rules
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports

# A long fuzz run (CI runs the same suite with 50 examples per operation); FUZZ_EXAMPLES scales it.
FUZZ_EXAMPLES ?= 500
fuzz: install
	mkdir -p .mlharbor
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) FUZZ_RANDOM=1 FUZZ_REPORT=.mlharbor/fuzz-report.json \
		$(VENV)/bin/pytest -q -p no:cacheprovider tests/fuzz
	@cat .mlharbor/fuzz-report.json

bench: install
	$(PY) bench/run.py

# TinkerPop's Gherkin suite against a real `mlharbor up`, over GraphBinary and GraphSON: a table per feature
# file and the totals (report: .mlharbor/conformance-report.json); FEATURE=Has narrows it
conformance: install
	PYTHONPATH=$(CURDIR) $(PY) tests/conformance/run_conformance.py $(if $(FEATURE),--feature $(FEATURE))

up: install
	$(VENV)/bin/mlharbor up

# the built-in images for the Docker runner, built offline (cached by content digest: seconds when unchanged)
images: install engines
	$(VENV)/bin/mlharbor images --build

clean:
	rm -rf $(VENV) $(VENV3) .mlharbor .pytest_cache .ruff_cache .import_linter_cache

# Two commands set up everything on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# ./config.toml when there is one (copy config.example.toml to start), else the example.
CONFIG ?= $(if $(wildcard config.toml),config.toml,config.example.toml)
# Test workers: most tests wait on sockets and subprocesses, so 4 beat 2 on 2 cores.
# The fault tests (marked serial in tests/conftest.py) then run on their own.
TEST_WORKERS ?= 4
STAMP := $(VENV)/.installed

.PHONY: run test lint format bench clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "feedsvc needs Python 3.11 or newer; set PYTHON=/path/to/python3.11")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/feedsvc run --config $(CONFIG)

test: $(STAMP)
	$(BIN)/python -m pytest -n $(TEST_WORKERS) -m 'not serial'
	$(BIN)/python -m pytest -m serial

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(STAMP)
	$(BIN)/python bench/store.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache build *.egg-info

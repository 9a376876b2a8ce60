# Viewpoint: `make demo` runs a demo session, `make test` runs the tests. Both set everything up first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
OUT    ?= build/demo

.PHONY: setup system-deps demo console test test-xr lint bench clean

system-deps:
	sh scripts/system-deps.sh

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[test]'
	touch $@

setup: system-deps $(VENV)/.installed

demo: setup
	$(BIN)/python -m scripts.demo --out $(OUT)

console: setup
	$(BIN)/viewpoint-facilitator console --with-player headless

lint: setup
	$(BIN)/ruff check .

test: setup
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q

test-xr: setup
	$(BIN)/python -m pytest -q -m xr

bench: setup
	for b in bench/*.py; do $(BIN)/python $$b || exit 1; done

clean:
	rm -rf build $(VENV) .pytest_cache .ruff_cache

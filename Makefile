# Viewpoint: `make demo` runs a demo session, `make test` runs the tests. Both set everything up first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
OUT    ?= build/demo

.PHONY: setup system-deps xr-root demo console test test-xr lint bench clean

system-deps:
	sh scripts/system-deps.sh

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[test]'
	touch $@

setup: system-deps $(VENV)/.installed

# The sandboxed Monado runtime for the OpenXR tests (built once, cached outside the repo). Where this machine
# cannot build it (not root, no chroot) the OpenXR tests skip with the reason, except under CI=true.
xr-root:
	@if reason=$$(sh scripts/xr-root.sh check); then sh scripts/xr-root.sh build; \
	else echo "OpenXR tests will skip: $$reason (see docs/openxr.md)"; fi

demo: setup
	$(BIN)/python -m scripts.demo --out $(OUT)

console: setup
	$(BIN)/viewpoint-facilitator console --with-player headless

lint: setup
	$(BIN)/ruff check .
	$(BIN)/lint-imports

test: setup xr-root
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -q

test-xr: setup xr-root
	$(BIN)/python -m pytest -q -m xr

bench: setup
	for b in bench/*.py; do $(BIN)/python $$b || exit 1; done

clean:
	rm -rf build $(VENV) .pytest_cache .ruff_cache

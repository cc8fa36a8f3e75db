# Two commands do all set-up: `make serve` and `make test` (see README.md).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
LOCAL  := $(VENV)/.installed-local
DEV    := $(VENV)/.installed-dev

.PHONY: serve test bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(LOCAL): requirements.txt requirements-local.txt pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -r requirements-local.txt
	$(BIN)/pip install -q --no-deps -e .
	touch $@

$(DEV): $(LOCAL) requirements-dev.txt
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $@

serve: $(LOCAL)
	$(BIN)/aihub serve

test: $(DEV)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(DEV)
	$(BIN)/python -m tests.bench

clean:
	rm -rf $(VENV) .pytest_cache

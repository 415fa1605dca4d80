# Two commands matter: `make run` and `make test` (see README.md).
# durable_rules does not import on Python 3.13, so pick 3.12 or 3.11 when the machine has them.
PYTHON ?= $(shell for p in python3.12 python3.11 python3; do \
  if command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(not ((3,11) <= sys.version_info[:2] <= (3,12)))' 2>/dev/null; then echo $$p; break; fi; done)
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8501
TSUNAGU_DATA ?= ./data
export TSUNAGU_DATA

.PHONY: run test bench install check-python clean

check-python:
	@test -n "$(PYTHON)" || { echo "Python 3.11 または 3.12 が必要です（durable_rules は 3.13 で動きません）。"; exit 1; }

$(BIN)/.installed: pyproject.toml | check-python
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

install: $(BIN)/.installed

run: install
	$(BIN)/tsunagu serve --port $(PORT) --data $(TSUNAGU_DATA)

test: install
	$(BIN)/python -m pytest

bench: install
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis

# The two commands a newcomer needs: `make demo` and `make test`.
# Each creates .venv at the repository root when it is missing and installs what it needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
OUT ?= out

.PHONY: demo test test-fast bench lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test,datasets,scale]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/pmt demo --out $(OUT)

test: $(STAMP)
	$(BIN)/ruff check pmt tests benchmarks
	$(BIN)/python -m pytest -n 2 -q

test-fast: $(STAMP)
	$(BIN)/python -m pytest -n 2 -q -m "not slow"

bench: $(STAMP)
	$(BIN)/python -m benchmarks

lint: $(STAMP)
	$(BIN)/ruff check pmt tests benchmarks

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache

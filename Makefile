# The two commands a newcomer needs: `make demo` and `make test`.
# Each creates .venv at the repository root when it is missing and installs what it needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
OUT ?= out

.PHONY: demo test test-fast bench lint clean browser

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test,datasets,scale]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/pmt demo --out $(OUT) --models-dir models

# Headless Chromium renders the demo report in a test; install it when missing (Debian,
# as root). Where that is impossible the browser test is skipped with a message.
browser:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
	  ( [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) ) || \
	  echo "note: chromium could not be installed; the report rendering test will be skipped"

test: $(STAMP) browser
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

# The two commands a newcomer needs: `make demo` and `make test`.
# Each creates .venv at the repository root when it is missing and installs what it needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
OUT ?= out

.PHONY: demo test test-fast bench lint clean browser notebooks

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test,datasets,scale]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/pmt demo --out $(OUT) --models-dir models

# Headless Chromium renders the demo report and prints the PDF report in tests, and
# poppler-utils (pdftotext, pdftoppm) read the PDF back; install them when missing (Debian,
# as root). Where that is impossible those tests are skipped with a message.
browser:
	@pkgs=""; \
	command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || pkgs=" chromium"; \
	command -v pdftotext >/dev/null 2>&1 && command -v pdftoppm >/dev/null 2>&1 || pkgs="$$pkgs poppler-utils"; \
	if [ -n "$$pkgs" ]; then \
	  ( [ "$$(id -u 2>/dev/null)" = 0 ] && command -v apt-get >/dev/null 2>&1 && apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$pkgs >/dev/null ) || \
	  echo "note: could not install$$pkgs (Debian packages); the report rendering and PDF tests will be skipped"; \
	fi

test: $(STAMP) browser
	$(BIN)/ruff check pmt tests benchmarks
	$(BIN)/mypy
	$(BIN)/python -m pytest -n 2 -q

test-fast: $(STAMP)
	$(BIN)/python -m pytest -n 2 -q -m "not slow"

# JupyterLab for the worked notebooks in notebooks/ (the `notebooks` extra, installed into .venv);
# prints how to start it and starts nothing.
NB_STAMP := $(VENV)/.notebooks

$(NB_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[notebooks]"
	touch $(NB_STAMP)

notebooks: $(NB_STAMP)
	@echo "JupyterLab is installed in $(VENV). Start it from the repository root with"
	@echo "    $(BIN)/jupyter lab notebooks/"
	@echo "(on a remote machine add --no-browser and open the URL it prints). The notebooks draw"
	@echo "20,000 synthetic households; PMT_NB_HOUSEHOLDS=3000 $(BIN)/jupyter lab notebooks/ runs them faster."

bench: $(STAMP)
	$(BIN)/python -m benchmarks

lint: $(STAMP)
	$(BIN)/ruff check pmt tests benchmarks
	$(BIN)/mypy

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache

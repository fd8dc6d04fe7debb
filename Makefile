VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: test lint bench bench-quick tui screenshots snapshot-update clean

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

test: $(STAMP)
	$(PY) -m pytest -q

lint: $(STAMP)
	$(VENV)/bin/ruff check src line_tui tests bench
	$(VENV)/bin/mypy

bench: $(STAMP)
	$(PY) -m bench

bench-quick: $(STAMP)
	$(PY) -m bench --quick

tui: $(STAMP)
	$(VENV)/bin/line-tui

screenshots: $(STAMP)
	$(PY) -m line_tui.screenshots screenshots

snapshot-update: $(STAMP)
	$(PY) -m pytest -q tests/tui --snapshot-update

clean:
	rm -rf $(VENV) build dist

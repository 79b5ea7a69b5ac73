# Two commands: `make run` and `make test`. Both create .venv with python3 on first use.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test migrate clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(PY) -m bff.cli run

test: $(STAMP)
	$(PY) -m pytest -q

migrate: $(STAMP)
	$(PY) -m bff.cli migrate

clean:
	rm -rf $(VENV) var

# Local entry points: `make run` starts the whole platform, `make test` runs the test suite.
# Both create .venv on first use and reinstall only when pyproject.toml changed.

VENV := .venv
PYTHON := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test install

run: $(STAMP)
	$(VENV)/bin/damrong up $(if $(DEMO),--demo $(DEMO))

test: $(STAMP)
	$(PYTHON) -m pytest -q $(PYTEST_ARGS)

install: $(STAMP)

$(PYTHON):
	python3 -m venv $(VENV)

# Order-only on the interpreter: its mtime (a symlink to the system python) is meaningless.
$(STAMP): pyproject.toml | $(PYTHON)
	$(PYTHON) -m pip install -e '.[test]'
	touch $(STAMP)

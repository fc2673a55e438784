# Local entry points: `make run` starts the whole platform, `make test` runs the test suite.
# Both create .venv on first use and reinstall only when pyproject.toml changed.

VENV := .venv
PYTHON := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test install

run: $(STAMP)
	$(VENV)/bin/damrong up $(if $(DEMO),--demo $(DEMO))

# BACKEND=containers: the integration and end-to-end tiers on Apache Kafka and PostgreSQL
# in Docker containers (skipped, saying why, without a Docker engine).
ifeq ($(BACKEND),containers)
TEST_RUN := DAMRONG_TEST_BACKEND=containers $(PYTHON) -m pytest -q tests/integration tests/e2e
else ifeq ($(filter-out embedded,$(BACKEND)),)
TEST_RUN := $(PYTHON) -m pytest -q
else
TEST_RUN = $(error BACKEND=$(BACKEND): expected embedded (the default) or containers)
endif

test: $(STAMP)
	$(TEST_RUN) $(PYTEST_ARGS)

install: $(STAMP)

$(PYTHON):
	python3 -m venv $(VENV)

# Order-only on the interpreter: its mtime (a symlink to the system python) is meaningless.
$(STAMP): pyproject.toml | $(PYTHON)
	$(PYTHON) -m pip install -e '.[test]'
	touch $(STAMP)

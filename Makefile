# Local entry points: `make run` starts the whole platform, `make test` runs the test suite.
# Both create .venv on first use and install from the lock file, again whenever it or
# pyproject.toml changes. `make lock` refreshes the lock files, `make lint` runs the linters.

VENV := .venv
PYTHON := $(VENV)/bin/python
STAMP := $(VENV)/.installed

# requirements-dev.lock: the runtime dependencies and the test extra, what `make` installs (and
# so what CI tests). requirements.lock: the image's set (deploy/Dockerfile), the same versions
# less the embedded servers. Both pin every package with the hashes of its files, for Python 3.11
# on every platform.
LOCK := requirements-dev.lock
# pip itself, pinned and hash-checked, installed before the lock (the file says why).
PIP_LOCK := requirements-pip.lock
IMAGE_LOCK := requirements.lock
UV_VERSION := 0.13.9
LOCK_FLAGS := --quiet --generate-hashes --universal --python-version 3.11 \
    --custom-compile-command 'make lock'
# The project's dependencies less those deploy/Dockerfile names in its EMBEDDED set.
IMAGE_REQUIREMENTS := $(PYTHON) -c 'import re, tomllib; \
    out = set(re.findall(r"\"([\w.-]+)\"", \
        re.search(r"EMBEDDED = \{(.*)\}", open("deploy/Dockerfile").read())[1])); \
    deps = tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]; \
    print("\n".join(d for d in deps if re.split(r"[=<>\[ ]", d)[0] not in out))'

LINT_PATHS := shared services damrong tests bench
# Every tool reports, and the command fails if any found something (`make lint`, and the
# first step of `make test`).
LINT := status=0; \
    $(VENV)/bin/ruff check --quiet $(LINT_PATHS) || status=1; \
    $(VENV)/bin/ruff format --check --quiet $(LINT_PATHS) || status=1; \
    $(VENV)/bin/mypy $(LINT_PATHS) || status=1; \
    exit $$status

.PHONY: run test install lock lint screenshots

run: $(STAMP)
	$(VENV)/bin/damrong up $(if $(DEMO),--demo $(DEMO))

# BACKEND=containers: the integration and end-to-end tiers on Apache Kafka and PostgreSQL
# in Docker containers (skipped, saying why, without a Docker engine).
# The tests mostly wait (on servers, consumers, browsers), so TEST_WORKERS processes run them
# side by side, each with servers of its own; one file's tests stay in one worker.
TEST_WORKERS ?= 4
PYTEST := $(PYTHON) -m pytest -q --durations=20 -n $(TEST_WORKERS) --dist loadfile
ifeq ($(BACKEND),containers)
TEST_RUN := DAMRONG_TEST_BACKEND=containers $(PYTEST) tests/integration tests/e2e
else ifeq ($(filter-out embedded,$(BACKEND)),)
TEST_RUN := $(PYTEST)
else
TEST_RUN = $(error BACKEND=$(BACKEND): expected embedded (the default) or containers)
endif

# The linters first (a finding fails the run before the tests start), then the system
# packages the browser and PDF tests need (installed when missing and run as root), then
# the tests (the slowest twenty listed: the suite must stay well under 15 minutes).
test: $(STAMP)
	@$(LINT)
	@deploy/system-packages.sh
	$(TEST_RUN) $(PYTEST_ARGS)

install: $(STAMP)

# Every console page in Thai and English as docs/screenshots/*.png (shown in the README).
screenshots: $(STAMP)
	@deploy/system-packages.sh
	$(PYTHON) -m tests.browser.screenshots

lint: $(STAMP)
	@$(LINT)

$(PYTHON):
	python3 -m venv $(VENV)

# Order-only on the interpreter: its mtime (a symlink to the system python) is meaningless.
# The lock brings every dependency, hash-checked; the project itself goes in without any, and
# `pip check` then stops a lock that no longer satisfies pyproject.toml's pins.
$(STAMP): $(LOCK) $(PIP_LOCK) pyproject.toml | $(PYTHON)
	$(PYTHON) -m pip install --require-virtualenv --require-hashes -r $(PIP_LOCK)
	$(PYTHON) -m pip install --require-virtualenv --require-hashes -r $(LOCK)
	$(PYTHON) -m pip install --require-virtualenv --no-deps -e .
	$(PYTHON) -m pip check || { echo "$(LOCK) is out of date: run make lock" >&2; exit 1; }
	touch $(STAMP)

# Keeps the versions already locked where pyproject.toml allows them; LOCK_ARGS=--upgrade takes
# the newest of every unpinned (transitive) dependency, LOCK_ARGS='--upgrade-package NAME' one.
lock: | $(PYTHON)
	$(PYTHON) -m pip install --require-virtualenv --quiet uv==$(UV_VERSION)
	$(VENV)/bin/uv pip compile $(LOCK_FLAGS) $(LOCK_ARGS) --extra test pyproject.toml -o $(LOCK)
	$(IMAGE_REQUIREMENTS) | $(VENV)/bin/uv pip compile $(LOCK_FLAGS) -c $(LOCK) - -o $(IMAGE_LOCK)

# Two commands do all set-up on a fresh machine (Python 3.11, pip, make, git):
#   make demo   - create .venv, install the pinned set, materialise every asset on the bundled data
#   make test   - same environment (+ Debian's chromium for the UI test); ruff check, ruff format --check, pytest
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# the UI test drives Debian's Chromium with its own chromedriver (never a browser downloaded by a test tool)
BROWSER := /usr/bin/chromium /usr/bin/chromedriver
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: demo test ui dashboard api lint format docs bench clean

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "Python 3.11 is required; found " + sys.version.split()[0] + " (set PYTHON=/path/to/python3.11)")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	@# the instance that .env points plain `dagster` and `dg` commands at, ready before any run
	@FPL_PLATFORM_HOME= DAGSTER_HOME= $(BIN)/python -c 'from fpl_platform.runtime import prepare_home; prepare_home()'
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/fpl-platform demo

$(BROWSER):
	$(SUDO) apt-get update -qq
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium chromium-driver

test: $(STAMP) $(BROWSER)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest -n 2 --dist worksteal  # two workers: CPU-bound suite, 2 cores; long tests start first (conftest)

ui: $(STAMP)
	$(BIN)/fpl-platform ui

# the forecasts for people (http://127.0.0.1:8501) and for programs (http://127.0.0.1:8000/docs), read-only
dashboard: $(STAMP)
	$(BIN)/fpl-platform dashboard

api: $(STAMP)
	$(BIN)/fpl-platform api

lint: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# docs/tables.md is generated from fpl_platform/lib/schemas.py (test_readme_and_demo checks it is current)
docs: $(STAMP)
	$(BIN)/python -m fpl_platform.lib.schemas > docs/tables.md.tmp
	mv docs/tables.md.tmp docs/tables.md

/usr/bin/wrk:
	$(SUDO) apt-get update -qq
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wrk

bench: $(STAMP) /usr/bin/wrk
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev,bench]'
	$(BIN)/python benchmarks/bench_foundation.py
	$(BIN)/python benchmarks/bench_forecasting.py
	$(BIN)/python benchmarks/bench_monitoring.py
	$(BIN)/python benchmarks/bench_faults.py
	$(BIN)/python benchmarks/bench_api.py

clean:
	rm -rf .fpl_platform

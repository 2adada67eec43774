# books-api: every developer and CI command. See README.md.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Processes for the functional tier (pytest-xdist): each has its own redis-server and moto.
FUNCTIONAL_WORKERS ?= 2

.PHONY: help venv system-deps browser-deps run invoke ses-event test test-unit test-functional test-integration test-system test-browser screenshots fuzz lint bench localstack tier-deps

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade "pip<26.3"  # chalice 1.34 requires pip<26.3
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

venv: $(STAMP) ## create the virtualenv and install dependencies

system-deps: ## install redis-server with apt if it is missing
	@command -v redis-server >/dev/null || { \
	  echo "installing redis-server (apt)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; }

# The browser tier drives Debian's own Chromium through its chromedriver: nothing is downloaded
# at run time (tests/browser/support.py gives Selenium both paths, so Selenium Manager never runs).
browser-deps: ## install chromium and chromium-driver with apt if either is missing
	@test -x /usr/bin/chromium -a -x /usr/bin/chromedriver || { \
	  echo "installing chromium and chromium-driver (apt)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; }

lint: venv ## ruff check, ruff format --check, mypy, lint-imports (the dependency rule)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-logo

# The test tiers, cheapest first. tests/<tier>/__init__.py says what each one needs and costs.
test-unit: venv ## unit tier: pure Python, no service, no network (seconds)
	$(BIN)/pytest -q tests/unit

test-functional: venv system-deps ## functional tier: the app in-process on moto + a real redis-server
	$(BIN)/pytest -q -n $(FUNCTIONAL_WORKERS) tests/functional

test-integration: tier-deps ## integration tier: the whole flow on the LocalStack tier (free ports)
	$(BIN)/pytest -q -m integration tests/integration

test-system: venv system-deps ## system tier: `make run` as a process; schemathesis; chalice package + cfn-lint
	$(BIN)/pytest -q -m system tests/system

test-browser: venv system-deps browser-deps ## browser tier: the admin console in headless Chromium on `make run`'s stack
	$(BIN)/pytest -q -m browser tests/browser

screenshots: venv system-deps browser-deps ## docs/console/<view>.png of each console view, with seeded data (not in make test)
	CONSOLE_SCREENSHOTS=1 $(BIN)/pytest -q -m browser tests/browser/test_screenshots.py

FUZZ_MAX_TIME ?= 1800
fuzz: venv system-deps ## long runs: schemathesis for FUZZ_MAX_TIME s (1800), then the properties x300
	FUZZ_MAX_TIME=$(FUZZ_MAX_TIME) $(BIN)/pytest -q -s tests/system/test_fuzz_api.py
	HYPOTHESIS_PROFILE=long $(BIN)/pytest -q tests/functional/test_bulk_properties.py

# One tier after the other (never in parallel, even under make -j): each installs what it needs.
test: lint ## lint, then every tier: unit, functional, integration, system, browser
	@$(MAKE) --no-print-directory test-unit
	@$(MAKE) --no-print-directory test-functional
	@$(MAKE) --no-print-directory test-integration
	@$(MAKE) --no-print-directory test-system
	@$(MAKE) --no-print-directory test-browser

run: venv system-deps ## start the local stack (moto, redis-server, API, queue consumers, scheduler); Ctrl-C stops it
	exec $(BIN)/python -m localdev.runner

# WAIT=1: also wait until the stack's queue consumers have done the dispatched work (exit 3 if
# not within the function's timeout, or TIMEOUT=<seconds>).
ses-event: venv ## simulate an SES event against the running stack: make ses-event TYPE=bounce EMAIL=ada@example.com
	@test -n "$(TYPE)" -a -n "$(EMAIL)" || { echo "usage: make ses-event TYPE=<bounce|complaint|delivery> EMAIL=<address>" >&2; exit 2; }
	@exec $(BIN)/python -m localdev.ses_event "$(TYPE)" "$(EMAIL)"

invoke: venv ## run a schedule now against the running stack: make invoke FN=bulk_insert [WAIT=1]
	@test -n "$(FN)" || { echo "usage: make invoke FN=<bulk_insert|send_reports|weekly_summary> [WAIT=1] [TIMEOUT=<seconds>]" >&2; exit 2; }
	@exec $(BIN)/python -m localdev.invoke "$(FN)" $(if $(filter-out 0,$(WAIT)),--wait) $(if $(TIMEOUT),--timeout "$(TIMEOUT)")

bench: venv system-deps ## run every bench/*.py in turn and print their figures
	@shopt -s nullglob; scripts=(bench/*.py); \
	if [ $${#scripts[@]} -eq 0 ]; then echo "no benchmarks under bench/"; exit 0; fi; \
	for script in "$${scripts[@]}"; do \
	  case "$${script##*/}" in _*) continue;; esac; \
	  echo "== $$script"; PYTHONPATH=. $(BIN)/python "$$script" || { echo "FAILED: $$script" >&2; exit 1; }; \
	done

# --- LocalStack tier (Docker-free): LocalStack host mode (Python 3.13 venv), DynamoDB Local, redis
tier-deps: venv system-deps ## install java and npm (apt) if missing, the LocalStack venv, DynamoDB Local
	@command -v java >/dev/null || { \
	  echo "installing java (apt)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless >/dev/null; }
	@command -v npm >/dev/null || { \
	  echo "installing npm (apt)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null; }
	$(BIN)/python localstack/launcher.py --install

localstack: tier-deps ## LocalStack + DynamoDB Local + redis-server in the foreground; Ctrl-C stops them
	exec $(BIN)/python localstack/launcher.py

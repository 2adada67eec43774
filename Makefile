# books-api: every developer and CI command. See README.md.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: help venv system-deps run invoke test test-unit test-functional test-integration lint bench localstack

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

venv: $(STAMP) ## create the virtualenv and install dependencies

system-deps: ## install redis-server with apt if it is missing
	@command -v redis-server >/dev/null || { \
	  echo "installing redis-server (apt)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; }

lint: venv ## ruff check, ruff format --check, mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test-unit: venv ## fast unit tests of the domain
	$(BIN)/pytest -q tests/unit

test-functional: venv system-deps ## chalice test client + moto + a real redis-server
	$(BIN)/pytest -q tests/functional

test: venv system-deps lint ## every tier: unit, functional, integration
	$(BIN)/pytest -q tests/unit tests/functional

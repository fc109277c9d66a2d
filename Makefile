# engage-sync — `make help` lists the verbs.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.DEFAULT_GOAL := help
.PHONY: help install run test test-apache test-tansu test-unit test-integration test-e2e test-full bench lint typecheck compose-up compose-down clean

help: ## list the verbs
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	@rm -f $(VENV)/.installed-* && touch $@

install: $(STAMP) ## create .venv and install the project with its test tools

run: $(STAMP) ## run the whole pipeline locally (embedded broker, sandbox org, demo traffic)
	$(BIN)/engage-sync up

test: $(STAMP) ## every tier at CI sizes, timed part by part: unit, Apache Kafka, Tansu, other Pythons
	$(BIN)/python scripts/test-parts $(BIN)/python

test-apache: $(STAMP) ## integration, e2e and reliability on Apache Kafka (fetched with Maven)
	$(BIN)/python scripts/test-parts $(BIN)/python apache

test-tansu: $(STAMP) ## the Tansu-specific subset on the embedded Tansu broker
	$(BIN)/python scripts/test-parts $(BIN)/python tansu

test-unit: $(STAMP) ## unit tests only
	$(BIN)/pytest -q tests/unit

test-full: $(STAMP) ## every tier at full sizes (slow)
	ENGAGE_SYNC_FULL=1 $(BIN)/pytest -q tests

bench: $(STAMP) ## run the benchmarks and write docs/benchmarks.md
	PYTHONPATH=. $(BIN)/python -m bench.run

lint: $(STAMP) ## ruff
	$(BIN)/ruff check engage_sync streams connectors sandbox tests bench

typecheck: $(STAMP) ## mypy on the source packages
	$(BIN)/mypy engage_sync streams connectors

compose-up: ## Kafka (KRaft), registry, worker/writer/poller in Docker (COMPOSE_PROFILES=monitoring: +Grafana)
	docker compose up -d --build

compose-down: ## stop the compose stack (monitoring too) and drop its volumes
	docker compose --profile monitoring down -v

clean: ## remove the venv and local state
	rm -rf $(VENV) .engage-sync

# spendgate: thin porcelain over uv, docker compose and the deploy checks. `make` lists the targets.
.DEFAULT_GOAL := help
SHELL := bash
.SHELLFLAGS := -euo pipefail -c
ARGS ?=

.PHONY: help run check test lint bench up down k8s-check

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_-]+:.*## / {printf "  make %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

run: ## run the whole stack locally (spendgate dev; Ctrl-C stops it). Options: make run ARGS="--help"
	uv sync
	uv run spendgate dev $(ARGS)

# Four xdist workers on two cores: most of a test's time is spent waiting on Redis, uvicorn and sockets.
CHECK_WORKERS ?= 4

check: lint ## the inner loop (< 90 s): lint, then unit and integration tests in parallel (no e2e, chaos, fuzz, browser, process)
	uv run pytest tests/unit tests/integration -n $(CHECK_WORKERS) -m "not browser and not process" $(ARGS)

test: ## run every test tier (unit, integration, process, e2e, chaos, fuzz, browser), as CI does
	uv sync --frozen
	uv run pytest $(ARGS)

lint: ## ruff check, ruff format --check, mypy --strict, import-linter contracts
	uv run ruff check .
	uv run ruff format --check .
	uv run mypy
	uv run lint-imports

bench: ## run the benchmarks (never part of `make test`)
	@if [ ! -f bench/__main__.py ]; then \
		echo "make bench: bench/ has no runner yet (bench/__main__.py is missing)" >&2; exit 2; fi
	uv run python -m bench $(ARGS)

COMPOSE := docker compose -f docker-compose.yml --env-file deploy/compose/local/compose.env

up: ## build and start the docker compose stack (local secrets written once by deploy/compose/init.sh)
	bash deploy/compose/init.sh
	$(COMPOSE) up -d --build --wait

down: ## stop the docker compose stack (volumes and local secrets are kept)
	$(COMPOSE) down

k8s-check: ## validate Dockerfiles, Prometheus rules and the kustomize manifests
	bash deploy/check.sh

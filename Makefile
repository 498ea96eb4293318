# The single entry point. `make run` and `make test` are the two commands of the README.
VENV ?= .venv
BIN  := $(VENV)/bin
PP   := $(BIN)/profilepipe
LINT_PATHS := lib tests notebooks bench scripts data

.PHONY: help setup up down status logs run test test-unit test-spark test-mongo-alt test-replicated lint format lab dashboard bench reset clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-15s %s\n", $$1, $$2}'

setup:  ## venv, pinned packages, Jupyter kernel, Maven jars (idempotent)
	@bash scripts/setup.sh

up: setup  ## start Kafka, Cassandra and the MongoDB-compatible server (reuses a running stack)
	@$(PP) stack up

down:  ## stop the processes `make up` started
	@if [ -x $(PP) ]; then $(PP) stack down; fi

status:  ## health of each service
	@$(PP) stack status

logs:  ## tail the stack's logs
	@$(PP) stack logs

# `make run` hashes with bcrypt cost 10 (quick for a workshop) unless PROFILEPIPE_BCRYPT_COST is set
run: export PROFILEPIPE_BCRYPT_COST ?= 10
run: setup  ## the main job: set-up, stack, then the notebooks headless (papermill) into output/
	@$(PP) stack up --quiet
	@$(PP) run

lint: setup  ## ruff lint and format check (lib, tests, notebooks, bench)
	@$(BIN)/ruff check $(LINT_PATHS)
	@$(BIN)/ruff format --check $(LINT_PATHS)

format: setup  ## apply ruff's formatting and safe fixes
	@$(BIN)/ruff check --fix $(LINT_PATHS)
	@$(BIN)/ruff format $(LINT_PATHS)

# the test tiers, by cost (what each needs and takes: the table in tests/README.md), then the notebooks
TEST_TIERS := tests/unit tests/spark tests/integration tests/cluster tests/faults

test: lint up  ## the full suite: every test tier (tests/README.md) against the stack, then the notebooks
	@$(BIN)/pytest $(TEST_TIERS) notebooks --nbval --nbval-current-env --nbval-sanitize-with tests/nbval/sanitize.cfg

test-unit: setup  ## the no-Spark, no-server tier (under a minute)
	@$(BIN)/pytest tests/unit

test-spark: setup  ## the local-Spark tier, no servers (a few minutes)
	@$(BIN)/pytest tests/spark

test-mongo-alt: up  ## the MongoDB integration tests against the other MongoDB-compatible server (port 27018)
	@bash scripts/test-mongo-alt.sh

# the single-node stack and the replicated topology share ports: the first is stopped, the second
# is stopped at the end whatever the tests did (docs/topology.md)
test-replicated: setup  ## node-loss tests on the replicated topology (3 brokers, 3 Cassandra nodes)
	@$(PP) stack down
	@$(PP) stack up --topology replicated
	@PROFILEPIPE_TOPOLOGY=replicated $(BIN)/pytest tests/replicated; rc=$$?; $(PP) stack down; exit $$rc

lab: up  ## JupyterLab with the project's kernel
	@$(PP) lab --no-stack

dashboard: up  ## the live dashboard on http://127.0.0.1:8050
	@$(PP) dashboard

bench: up  ## end-to-end benchmark; writes bench/results/<date>.md
	@$(PP) bench

reset: setup  ## empty topics, table, aggregates and checkpoints
	@$(PP) reset

clean: down  ## stop the stack and delete its data and the outputs (keeps the venv and jars)
	rm -rf .stack output

# Two commands matter: `make run` and `make test`. Both create .venv when it is missing.
# `make run` installs only what the bot needs; `make test` and `make lint` add the test extras.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUNTIME := $(VENV)/.runtime
STAMP := $(VENV)/.installed
ARGS ?=

.PHONY: run test lint bench migrate demo doctor digest tandem clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(RUNTIME): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $(RUNTIME)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(RUNTIME) $(STAMP)

run: $(RUNTIME)
	$(BIN)/tandem migrate
	$(BIN)/tandem run

migrate: $(RUNTIME)
	$(BIN)/tandem migrate

doctor: $(RUNTIME)
	$(BIN)/tandem doctor

demo: $(RUNTIME)
	$(BIN)/tandem demo $(ARGS)

# make digest ARGS='--partnership "Marketing + IT" --month 2025-03'
digest: $(RUNTIME)
	$(BIN)/tandem digest $(ARGS)

# Any other command: make tandem ARGS='outbox'
tandem: $(RUNTIME)
	$(BIN)/tandem $(ARGS)

# Most tests wait on sockets and subprocesses, not the CPU: four pytest workers (each with
# its own SQLite files and PostgreSQL database) halve the wall time on two cores.
TEST_WORKERS ?= 4

test: $(STAMP)
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/vulture

# Full size: a script that takes --full runs its largest sizes only with it, so it gets it here.
# CI runs the benchmarks' code at tiny sizes instead (tests/benchmarks).
bench: $(STAMP)
	@for b in benchmarks/bench_*.py; do echo "== $$b"; \
	  full=$$(grep -q -e "--full" $$b && echo --full); \
	  $(BIN)/python $$b $$full || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .import_linter_cache *.egg-info

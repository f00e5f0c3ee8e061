# The two commands: `make run` serves the demo, `make test` runs the suite.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 8000
DEMO_DB ?= sqlite://portal.db

.PHONY: install run test test-pg bench lint format messages clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@

run: install
	DATABASE_URL="$${DATABASE_URL:-$(DEMO_DB)}" $(BIN)/portal migrate
	DATABASE_URL="$${DATABASE_URL:-$(DEMO_DB)}" $(BIN)/portal demo
	DATABASE_URL="$${DATABASE_URL:-$(DEMO_DB)}" $(BIN)/portal serve --port $(PORT)

test: install
	$(BIN)/python -m pytest

# The same suite on PostgreSQL (each test gets its own throwaway database).
test-pg: install
	TEST_DATABASE_URL="$${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}" \
		$(BIN)/python -m pytest

bench: install
	$(BIN)/python bench/run.py

lint: install
	$(BIN)/ruff check app models channels tests bench
	$(BIN)/ruff format --check app models channels tests bench

format: install
	$(BIN)/ruff format app models channels tests bench
	$(BIN)/ruff check --fix app models channels tests bench

messages: install
	bin/messages

clean:
	rm -rf $(VENV) portal.db portal.db-wal portal.db-shm var

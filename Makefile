# Two commands: `make demo` starts the platform with the demo county; `make test` runs the suite.
VENV ?= .venv
BIN := $(VENV)/bin
PG_TEST_URL ?= postgres://postgres@127.0.0.1:5432/wangge_test

.PHONY: demo test lint bench

$(BIN)/wangge: pyproject.toml
	test -x $(BIN)/python || python3 -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $@

demo: $(BIN)/wangge
	$(BIN)/wangge demo --port $${PORT:-8000}

lint: $(BIN)/wangge
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: lint
	scripts/ensure-test-services
	$(BIN)/wangge makemigrations --check --dry-run
	$(BIN)/pytest
	DATABASE_URL=$(PG_TEST_URL) $(BIN)/pytest

bench: $(BIN)/wangge
	$(BIN)/python bench/locate.py
	DATABASE_URL=$(PG_TEST_URL) $(BIN)/python bench/intake.py
	DATABASE_URL=$(PG_TEST_URL) $(BIN)/python bench/devices.py

# Everything runs from a virtual environment in .venv, created on first use from
# pyproject.toml (runtime and dev dependencies). Nothing is installed system-wide.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?= -n 2 --timeout 900 --durations=30

.PHONY: install run test lint bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed

# The main job on the bundled real data: a 4-generation evolution of S&P 500 strategies
# with NASDAQ as a reference symbol, recorded in factory.db (see `factory runs list`).
run: install
	$(BIN)/factory evolve --symbol SP500 --reference NASDAQ --generations 4

# The whole test suite, then the linters — also when a test failed, so one run reports
# both; the exit status is the tests' if they failed, else the linters'.
test: install
	@tests=0; lint=0; \
	$(BIN)/python -m pytest $(PYTEST_ARGS) || tests=$$?; \
	$(MAKE) --no-print-directory lint || lint=$$?; \
	if [ $$tests -ne 0 ]; then echo "make test: the tests failed (pytest exit $$tests)"; exit $$tests; fi; \
	if [ $$lint -ne 0 ]; then echo "make test: the linters failed"; fi; \
	exit $$lint

lint: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/lint-imports

clean:
	rm -rf $(VENV) .factory factory.db .pytest_cache

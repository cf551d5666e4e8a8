# The two README commands: `make demo` (build the example knowledge base and open it in a browser,
# or print its path where there is no display) and `make test` (the whole test suite). Both create
# .venv on first use and need nothing but Python 3.11 and make (.ci/run proves it on a bare PATH).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo serve test test-fast test-speedups test-clock-skew lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(VENV)/.installed $@

demo: $(VENV)/.installed
	$(BIN)/kbgen demo --open

serve: $(VENV)/.installed
	$(BIN)/kbgen demo
	$(BIN)/kbgen serve --open

test: $(VENV)/.installed-test
	$(BIN)/python -m pytest

# The edit-test loop: everything but Sphinx builds, the browser and other slow tests
# (markers in pyproject.toml). The PostgreSQL tests run when a server can be started.
test-fast: $(VENV)/.installed-test
	$(BIN)/python -m pytest -m "not slow and not browser"

# The tests that compare kbgen's build speedups with the unpatched libraries, byte for byte, on the
# lowest and the highest sphinx-needs (and Sphinx) that kbgen's speedups list as tested
# (kbgen/sphinxext/speedups.py: TESTED_SPHINX_NEEDS, TESTED_SPHINX), each in a venv of its own.
SPEEDUP_TESTS := tests/test_sphinx_speedups.py tests/test_sphinx_extension.py tests/test_needs_json.py tests/test_gcbudget.py
SPEEDUPS_LOW := "sphinx-needs==9.0.0" "sphinx==8.2.3"
SPEEDUPS_HIGH := "sphinx-needs==9.1.0" "sphinx==9.0.4"

.venv-speedups-%/.installed: pyproject.toml
	$(PYTHON) -m venv .venv-speedups-$*
	.venv-speedups-$*/bin/python -m pip install --quiet --upgrade pip
	.venv-speedups-$*/bin/python -m pip install --quiet -e ".[test]" $(SPEEDUPS_$(shell echo $* | tr a-z A-Z))
	touch $@

test-speedups: .venv-speedups-low/.installed .venv-speedups-high/.installed
	.venv-speedups-low/bin/python -m pytest -q -p no:cacheprovider $(SPEEDUP_TESTS)
	.venv-speedups-high/bin/python -m pytest -q -p no:cacheprovider $(SPEEDUP_TESTS)

# The incremental-build tests with the clock 5 s ahead of the files' modification times, as on a
# machine whose file times come from a lagging host clock: an edit made right after a build looks
# older than the build (kbgen/sphinxext/sources.py). Needs Debian's faketime.
FAKETIME_LIB ?= $(firstword $(wildcard /usr/lib/*/faketime/libfaketime.so.1))
CLOCK_SKEW_TESTS := tests/test_incremental_deps.py tests/test_one_environment.py tests/test_atomic.py

test-clock-skew: $(VENV)/.installed-test
	@test -n "$(FAKETIME_LIB)" || { echo "test-clock-skew needs libfaketime: apt install faketime" >&2; exit 2; }
	LD_PRELOAD=$(FAKETIME_LIB) FAKETIME="+5s" $(BIN)/python -m pytest -q -p no:cacheprovider $(CLOCK_SKEW_TESTS)

lint: $(VENV)/.installed-test
	$(BIN)/ruff check kbgen tests bench
	$(BIN)/mypy

bench: $(VENV)/.installed-test
	$(BIN)/python bench/run.py

clean:
	rm -rf build db/research.db .pytest_cache .venv-speedups-low .venv-speedups-high

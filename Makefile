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

# The main job on the embedded default: the facts of the bundled example package.
run: venv
	$(BIN)/gate features fixtures/apks/hello_zh.apk

test: venv
	$(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV) build *.egg-info

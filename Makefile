# Developer entry points. `make run` and `make test` are the README's two commands.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test native bench lint translations clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

native: $(STAMP)
	$(BIN)/python native/build.py

# The app on the embedded defaults: SQLite, local media, the SDK simulator with the demo corpus.
run: native
	$(BIN)/wecom-auditor demo
	$(BIN)/wecom-auditor sync
	@if [ -n "$$DISPLAY$$WAYLAND_DISPLAY" ]; then $(BIN)/wecom-auditor; \
	else echo "No display here: browse with '$(BIN)/wecom-auditor sessions' / 'messages', or run 'xvfb-run $(BIN)/wecom-auditor'."; fi

test: native
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest

bench: native
	$(BIN)/python benchmarks/bench_sdk.py

lint: $(STAMP)
	$(BIN)/ruff check app native tests benchmarks tools

translations: $(STAMP)
	$(BIN)/python tools/build_translations.py

clean:
	rm -rf native/build .pytest_cache

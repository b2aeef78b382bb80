# Developer entry points. `make run` and `make test` are the README's two commands.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

PACKAGE_STAMP := $(VENV)/.installed-package

.PHONY: run test native bench lint check translations clean package package-test fonts

$(STAMP): pyproject.toml setup.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

# PyInstaller, only for the bundle.
$(PACKAGE_STAMP): $(STAMP)
	$(BIN)/pip install --quiet -e '.[test,package]'
	touch $(PACKAGE_STAMP)

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

# Every benchmark at full size (tens of minutes); their headline figures go to docs/benchmarks.md.
bench: native
	$(BIN)/python benchmarks/run_all.py

lint: $(STAMP)
	$(BIN)/ruff check app native tests benchmarks tools packaging setup.py

# What CI checks before the tests: ruff (lint and import order) and mypy (its settings, which modules
# are strict and which are not yet, are in pyproject.toml).
check: $(STAMP)
	$(BIN)/ruff check app native tests benchmarks tools
	$(BIN)/mypy

# The desktop bundle: dist/wecom-auditor/ (one folder) and dist/wecom-auditor-<version>-<platform>.tar.gz.
package: native $(PACKAGE_STAMP)
	$(BIN)/python packaging/build.py

# The bundle run as a user would (outside the tree, fresh HOME) and `pip install .` in a throw-away
# venv: the tests marked `frozen`. Prints the bundle's size and start-up times.
package-test: package
	WECOM_AUDITOR_BUNDLE=dist/wecom-auditor QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -m frozen tests/packaging
	@cat build/bundle-report.txt

# Fetch the PDF fonts again from their pinned npm packages (they are committed; needs npm).
fonts: $(STAMP)
	$(BIN)/python packaging/fonts.py

translations: $(STAMP)
	$(BIN)/python tools/build_translations.py

clean:
	rm -rf native/build .pytest_cache build dist

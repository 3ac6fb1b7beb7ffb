# `make book` and `make test` are the whole set-up: each creates .venv when missing
# and installs everything (torch==2.13.0 is the CPU build on these machines' disk).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Benchmarks live beside the checkout in ../shared/data; without them every chapter
# falls back to the built-in collection and says so.
LATEINT_DATA ?= $(if $(wildcard ../shared/data),$(abspath ../shared/data),)
export LATEINT_DATA
export PATH := $(abspath $(BIN)):$(PATH)
export PYDEVD_DISABLE_FILE_VALIDATION := 1

.PHONY: setup book test bench train clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e ".[book,test]"
	touch $@

book: setup
	$(BIN)/jupyter-book build --all . --warningiserror --keep-going
	@echo "open _build/html/index.html"

test: setup
	$(BIN)/python -m pytest -q

bench: setup
	$(BIN)/python bench/run.py

train: setup
	$(BIN)/python -m lateint.train

clean:
	rm -rf _build

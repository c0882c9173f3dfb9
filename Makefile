# reidlab — `make app` sets everything up and starts the lab; `make test` sets up and runs the tests.
# Re-running either is fast: each set-up step is skipped while its inputs are unchanged.

PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
PORT   ?= 8501
DATA   ?= data/synthcams

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

# The embedded default dataset (SynthCams, MARS layout); generated once, ~1 minute.
data: $(VENV)/.stamp
	$(PY) -m reidlab synth --out $(DATA) --if-missing

app: setup data
	REIDLAB_DATA=$(DATA) $(VENV)/bin/streamlit run app.py --server.port $(PORT) --server.headless true

test: setup
	$(PY) -m pytest

bench: setup
	$(PY) bench/run_all.py

clean-data:
	rm -rf $(DATA)

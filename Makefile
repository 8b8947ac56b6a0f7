# ccrdt: everything runs from a virtualenv that this Makefile builds itself.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum requirements.txt | cut -d' ' -f1)

.PHONY: setup test bench demo clean

$(STAMP): requirements.txt
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

setup: $(STAMP)

test: $(STAMP)
	$(BIN)/pytest -q host_tests

# The main job: a virtual fleet of real MicroPython nodes (N=8 by default).
N ?= 8
DURATION ?= 15
LOSS ?= 0
SEED ?= 1
TRANSPORT ?= udp
demo: $(STAMP)
	$(BIN)/python tools/fleet.py --nodes $(N) --duration $(DURATION) --loss $(LOSS) --seed $(SEED) \
		--transport $(TRANSPORT)

bench: $(STAMP)
	$(BIN)/python tools/bench.py

clean:
	rm -rf $(VENV) build

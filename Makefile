# ccrdt: everything runs from a virtualenv that this Makefile builds itself.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum requirements.txt | cut -d' ' -f1)

.PHONY: setup test check bench demo mpy deploy run repl flash key vboards clean

$(STAMP): requirements.txt
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	# ESP32 API stubs for the static check, kept apart from the venv's packages.
	$(BIN)/pip install --quiet --disable-pip-version-check --target $(VENV)/esp32-stubs \
		micropython-esp32-stubs==1.29.0.post1
	touch $@

setup: $(STAMP)

# MICROPYTHON=path: the MicroPython that runs the virtual fleet, virtual boards
# and benchmarks (e.g. ../shared/mp32/micropython, 32-bit); default: the venv's.
ifdef MICROPYTHON
export MICROPYTHON
endif

# Lint (ruff.toml): fast, and part of the tests.
check: $(STAMP)
	$(BIN)/ruff check firmware tools host_tests host boards

# -rs: a run that was not possible (no 32-bit MicroPython) says so.
test: check
	$(BIN)/pytest -q -rs host_tests

# The main job: a virtual fleet of real MicroPython nodes (N=8 by default).
N ?= 8
DURATION ?= 15
LOSS ?= 0
SEED ?= 1
TRANSPORT ?= udp
# SITES=2: two radio clusters, one gateway each, joined through a real MQTT
# broker (mosquitto if installed, else amqtt from the venv).
SITES ?= 1
demo: $(STAMP)
	$(BIN)/python tools/fleet.py --nodes $(N) --duration $(DURATION) --loss $(LOSS) --seed $(SEED) \
		--transport $(TRANSPORT) --sites $(SITES)

# Boards: BOARD is a directory of boards/ (esp32_generic, esp32_s3, esp32_c3, unix).
BOARD ?= esp32_generic
MPREMOTE := $(BIN)/mpremote connect $(PORT) resume
mpy: $(STAMP)
	$(BIN)/python tools/deploy.py build $(BOARD)

key: $(STAMP)
	$(BIN)/python tools/deploy.py key $(or $(KEY),build/fleet.key)

deploy: $(STAMP)
	@test -n "$(PORT)" || { echo "make deploy needs PORT=/dev/ttyUSB0 (or a virtual board's /dev/pts/N)"; exit 2; }
	@test -n "$(NODE)" || { echo "make deploy needs NODE=name (1..16 bytes)"; exit 2; }
	$(BIN)/python tools/deploy.py deploy --port $(PORT) --board $(BOARD) --node $(NODE) --key "$(KEY)" $(SET)

run: $(STAMP)
	@test -n "$(PORT)" || { echo "make run needs PORT=..."; exit 2; }
	$(MPREMOTE) run firmware/main.py

repl: $(STAMP)
	@test -n "$(PORT)" || { echo "make repl needs PORT=..."; exit 2; }
	$(MPREMOTE) repl

CHIP = $(shell $(BIN)/python -c "import json; print(json.load(open('boards/$(BOARD)/board.json'))['chip'])")
OFFSET = $(shell $(BIN)/python -c "import json; print(json.load(open('boards/$(BOARD)/board.json'))['flash_offset'])")
flash: $(STAMP)
	@test -n "$(PORT)" -a -n "$(FIRMWARE)" || { echo "make flash needs PORT=... FIRMWARE=path/to/micropython.bin"; exit 2; }
	$(BIN)/esptool --chip $(CHIP) --port $(PORT) erase-flash
	$(BIN)/esptool --chip $(CHIP) --port $(PORT) write-flash $(OFFSET) $(FIRMWARE)

# Virtual boards for mpremote; AIR=host:port of an air hub (tools/netsim.py air).
vboards: $(STAMP)
	$(BIN)/python tools/vboard.py $(N) $(if $(AIR),--air $(AIR))

bench: $(STAMP)
	$(BIN)/python tools/bench.py

clean:
	rm -rf $(VENV) build

# The core, wire and gossip tests on the emulated RV32 board (qemu-system-riscv32,
# ../shared/mp32), with its heap figures.  RV32_ARGS=--bench: the board's rates;
# --romfs: the code runs in place from ROM, as frozen code does.
.PHONY: rv32
rv32: $(STAMP)
	$(BIN)/python tools/rv32board.py $(RV32_ARGS)

# ccrdt: everything runs from a virtualenv that this Makefile builds itself.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum requirements.txt | cut -d' ' -f1)

.PHONY: help setup test check bench bench-quick demo mpy deploy run repl flash key vboards \
	packages clean frozen

# `make help` lists the targets: the text after "##" on each target's line.
help:
	@echo "ccrdt: replicated constraint state for ESP32 fleets.  On a fresh machine:"
	@echo "  make demo     a virtual fleet of 8 MicroPython nodes (SITES=2: two sites, a broker)"
	@echo "  make test     lint, then every test"
	@echo "All targets (variables in capitals, e.g. make demo N=16 LOSS=0.2):"
	@grep -E '^[a-z0-9-]+:.*## ' $(firstword $(MAKEFILE_LIST)) | \
		sed -E 's/^([a-z0-9-]+):.*## (.*)/  \1\t\2/' | expand -t 16

$(STAMP): requirements.txt
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	# ESP32 API stubs for the static check, kept apart from the venv's packages.
	$(BIN)/pip install --quiet --disable-pip-version-check --target $(VENV)/esp32-stubs \
		micropython-esp32-stubs==1.29.0.post1
	touch $@

setup: $(STAMP) ## build .venv with the pinned tools of requirements.txt

# MICROPYTHON=path: the MicroPython that runs the virtual fleet, virtual boards
# and benchmarks (e.g. a 32-bit unix port: docs/testing.md); default: the venv's.
# MICROPYTHON32=path: the 32-bit one the tests and make bench also run on;
# RV32_FIRMWARE=path: the RV32 board (MicroPython's qemu port); both default to
# the offline cache CI lays beside the checkout (../shared).
# MPLIB=path: an offline copy of micropython-lib (umqtt.simple for gateways);
# without it the unix port's mip downloads what is needed (build/mip).
# MQTT_BROKER=mosquitto|amqtt: the broker SITES=2 starts (default: mosquitto
# where installed).
# Each is passed on to the tools only when set (an empty one would mean "unset").
$(foreach v,MICROPYTHON MICROPYTHON32 RV32_FIRMWARE MPLIB MIP_INDEX MQTT_BROKER,\
	$(if $(value $(v)),$(eval export $(v))))

# Lint (ruff.toml): fast, and part of the tests.
check: $(STAMP) ## lint (ruff) and the generated package files up to date
	$(BIN)/ruff check firmware tools host_tests host boards
	$(BIN)/python tools/package.py --check

# -rs: a run that was not possible (no 32-bit MicroPython) says so.
test: check ## lint, then every test (about 5 minutes on 2 cores)
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
demo: $(STAMP) ## a virtual fleet: N=8 DURATION=15 LOSS=0 SEED=1 TRANSPORT=udp|espnow SITES=1
	$(BIN)/python tools/fleet.py --nodes $(N) --duration $(DURATION) --loss $(LOSS) --seed $(SEED) \
		--transport $(TRANSPORT) --sites $(SITES)

# Boards: BOARD is a directory of boards/ (esp32_generic, esp32_s3, esp32_c3, unix).
BOARD ?= esp32_generic
MPREMOTE := $(BIN)/mpremote connect $(PORT) resume
mpy: $(STAMP) ## compile a board's firmware into build/mpy/BOARD and print the sizes
	$(BIN)/python tools/deploy.py build $(BOARD)

key: $(STAMP) ## write a new fleet key: KEY=build/fleet.key
	$(BIN)/python tools/deploy.py key $(or $(KEY),build/fleet.key)

deploy: $(STAMP) ## put firmware, config and key on a board: PORT= BOARD= NODE= KEY= [SET=] [FRESH=1]
	@test -n "$(PORT)" || { echo "make deploy needs PORT=/dev/ttyUSB0 (or a virtual board's /dev/pts/N)"; exit 2; }
	@test -n "$(NODE)" || { echo "make deploy needs NODE=name (1..16 bytes)"; exit 2; }
	$(BIN)/python tools/deploy.py deploy --port $(PORT) --board $(BOARD) --node $(NODE) --key "$(KEY)" $(SET) $(if $(FRESH),--fresh)

run: $(STAMP) ## run firmware/main.py on the board at PORT from the host
	@test -n "$(PORT)" || { echo "make run needs PORT=..."; exit 2; }
	$(MPREMOTE) run firmware/main.py

repl: $(STAMP) ## the REPL of the board at PORT
	@test -n "$(PORT)" || { echo "make repl needs PORT=..."; exit 2; }
	$(MPREMOTE) repl

CHIP = $(shell $(BIN)/python -c "import json; print(json.load(open('boards/$(BOARD)/board.json'))['chip'])")
OFFSET = $(shell $(BIN)/python -c "import json; print(json.load(open('boards/$(BOARD)/board.json'))['flash_offset'])")
flash: $(STAMP) ## erase and write MicroPython: PORT= BOARD= FIRMWARE=path/to/micropython.bin
	@test -n "$(PORT)" -a -n "$(FIRMWARE)" || { echo "make flash needs PORT=... FIRMWARE=path/to/micropython.bin"; exit 2; }
	$(BIN)/esptool --chip $(CHIP) --port $(PORT) erase-flash
	$(BIN)/esptool --chip $(CHIP) --port $(PORT) write-flash $(OFFSET) $(FIRMWARE)

# Virtual boards for mpremote; AIR=host:port of an air hub (tools/netsim.py air).
vboards: $(STAMP) ## N virtual boards for mpremote (AIR=host:port of an air hub)
	$(BIN)/python tools/vboard.py $(N) $(if $(AIR),--air $(AIR))

bench: $(STAMP) ## every figure into docs/figures.md (about 15 minutes on 2 cores; shows progress)
	$(BIN)/python tools/bench.py

bench-quick: $(STAMP) ## the headline figures into docs/figures-quick.md (about a minute)
	$(BIN)/python tools/bench.py --quick

# The 32-bit MicroPython with the firmware frozen in, as a board's firmware
# has it (needs ../shared/mp32; rebuilt only when the firmware changes):
# MICROPYTHON=build/frozen32/micropython make demo runs a fleet on it.
frozen: $(STAMP) ## build/frozen32/micropython: the 32-bit port with the firmware frozen in
	$(BIN)/python tools/frozen.py

packages: $(STAMP) ## regenerate the package.json files and the manifests' versions
	$(BIN)/python tools/package.py

clean: ## remove .venv and build/
	rm -rf $(VENV) build

# The core, wire and gossip tests on the emulated RV32 board (qemu-system-riscv32,
# ../shared/mp32), with its heap figures.  RV32_ARGS=--bench: the board's rates;
# --romfs: the code runs in place from ROM, as frozen code does.
.PHONY: rv32
rv32: $(STAMP) ## the core tests on the emulated RV32 board (RV32_ARGS=--bench: its rates)
	$(BIN)/python tools/rv32board.py $(RV32_ARGS)

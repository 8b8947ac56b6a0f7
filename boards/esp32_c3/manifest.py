# Freeze ccrdt into a MicroPython firmware for this board, so its code runs
# from flash and leaves the heap to the state:
#   cd micropython/ports/esp32
#   make BOARD=ESP32_GENERIC_C3 FROZEN_MANIFEST=$CCRDT/boards/esp32_c3/manifest.py
# Paths are relative to this file.  The port's manifest freezes aioespnow.
include("$(PORT_DIR)/boards/manifest.py")
add_library("ccrdt", "../../packages")
# The state, gossip, the node runtime, ESP-NOW and UDP (packages/ccrdt).
require("ccrdt", library="ccrdt")
# The example workload that config.json runs; drop it for an application's own.
require("ccrdt-workload", library="ccrdt")

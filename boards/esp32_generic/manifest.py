# Freeze ccrdt into a MicroPython firmware for this board, so its code runs
# from flash and leaves the heap to the state:
#   cd micropython/ports/esp32
#   make BOARD=ESP32_GENERIC FROZEN_MANIFEST=$CCRDT/boards/esp32_generic/manifest.py
# Paths are relative to this file.  aioespnow is frozen by the port already.
include("$(PORT_DIR)/boards/manifest.py")
package("ccrdt", base_path="../../firmware")

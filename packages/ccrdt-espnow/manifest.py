metadata(version="0.2.0", license="MIT", description="ccrdt's ESP-NOW transport.")

require("ccrdt-node", library="ccrdt")
# Frozen into the firmware by MicroPython's ESP32 ports.
require("aioespnow")

module("ccrdt/transport/espnow.py", base_path="../../firmware")

# The firmware a virtual 32-bit board runs, frozen into ../shared/mp32's unix
# port as a board's firmware has it (make frozen): its bytecode runs from the
# image and takes no heap.  Paths are relative to this file.
include("$(MPY_DIR)/extmod/asyncio")
add_library("ccrdt", "../../packages")
require("ccrdt-node", library="ccrdt")
require("ccrdt-udp", library="ccrdt")
require("ccrdt-workload", library="ccrdt")
# The radio and broker transports without their drivers: the host's stand-ins
# (host_tests/shim) and umqtt.simple stay files, as on a board they are the
# firmware's or installed with mip.
module("ccrdt/transport/espnow.py", base_path="../../firmware")
module("ccrdt/transport/mqtt.py", base_path="../../firmware")

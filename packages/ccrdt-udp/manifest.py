metadata(version="0.2.0", license="MIT", description="ccrdt's UDP transport (Wi-Fi); also carries STATUS to a monitor.")

require("ccrdt-node", library="ccrdt")

module("ccrdt/transport/udp.py", base_path="../../firmware")

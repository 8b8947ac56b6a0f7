metadata(version="0.2.0", license="MIT", description="ccrdt's push-pull gossip: PING, DELTA and ACK frames of at most 250 bytes.")

require("ccrdt-core", library="ccrdt")

module("ccrdt/gossip.py", base_path="../../firmware")
module("ccrdt/fresh.py", base_path="../../firmware")

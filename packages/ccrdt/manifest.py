# What a board of the fleet runs over ESP-NOW and Wi-Fi; package.json beside
# this file installs it, the one at the repository's root installs it with the
# example workload the boards' config.json runs (mpremote mip install github:...).
metadata(version="0.2.0", license="MIT", description="Replicated constraint state for fleets of ESP32 boards: "
         "the state, gossip, the node runtime, ESP-NOW and UDP.")

require("ccrdt-node", library="ccrdt")
require("ccrdt-espnow", library="ccrdt")
require("ccrdt-udp", library="ccrdt")

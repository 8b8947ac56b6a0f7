metadata(version="0.2.0", license="MIT", description="ccrdt's MQTT transport, for gateway boards.")

require("ccrdt-node", library="ccrdt")
require("umqtt.simple")

module("ccrdt/transport/mqtt.py", base_path="../../firmware")

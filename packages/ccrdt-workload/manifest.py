metadata(version="0.2.0", license="MIT", description="ccrdt's example workload: threshold constraints checked on a simulated sensor.")

require("ccrdt-node", library="ccrdt")

module("ccrdt/workload.py", base_path="../../firmware")

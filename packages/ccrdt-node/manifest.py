metadata(version="0.2.0", license="MIT", description="ccrdt's node runtime for a board: built from config.json, "
         "group-committed to flash, STATUS to a monitor.")

require("ccrdt-gossip", library="ccrdt")

package("ccrdt", files=("boot.py", "node.py", "config.py", "status.py", "transport/__init__.py"),
        base_path="../../firmware")

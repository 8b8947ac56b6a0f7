"""Board entry point: run the ccrdt node described by config.json.

While the firmware's modules load and the node is built, the GC runs every
few KB (``ccrdt.boot.main`` turns that off once the node runs): the loader's
temporary buffers are freed as it goes instead of being left between the
code it keeps, so a full-capacity state still finds its 8 KB table in one
piece in a ~110 KB heap (measured on the 32-bit port and the RV32 board).

When the node stops (Ctrl-C, or a config error it has printed) the board is
back at the REPL, as after any main.py."""
import gc

gc.threshold(4096)
from ccrdt.boot import main  # noqa: E402

main("config.json")

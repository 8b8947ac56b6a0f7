"""Board entry point: run the ccrdt node described by config.json.

While the firmware's modules load and the node is built, the GC runs every
few KB (``ccrdt.boot.start`` turns that off once the node is built): the loader's
temporary buffers are freed as it goes instead of being left between the
code it keeps, so a full-capacity state still finds its 8 KB table in one
piece in a ~110 KB heap (measured on the 32-bit port and the RV32 board).

When the node stops (Ctrl-C, or a config error it has printed) the board is
back at the REPL, as after any main.py."""
import gc

gc.threshold(4096)


def run():
    # Locals, not globals: back at the REPL (Ctrl-C, or mpremote taking
    # over) nothing of the node stays on the heap.
    from ccrdt.boot import start
    node = start("config.json")
    start = None  # the boot code's last reference: its heap goes back
    if node is not None:
        node.serve()


run()

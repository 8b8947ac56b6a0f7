"""Bytes a call allocates (host_tests/allocs.py) with as many repetitions as
the free heap holds: the GC is off during the measured loop, so everything
allocated stays until it ends, and a board-sized heap runs out quickly if a
call allocates kilobytes.  MicroPython only."""
import sys

if sys.argv[1:2] in (["-h"], ["--help"]):  # a board-side script: its docstring is its help
    print(globals().get("__doc__") or "%s: see the docstring at its top" % sys.argv[0])
    sys.exit(0)
import gc

from allocs import per_call


def bytes_per_call(fn, reps):
    """Average bytes one fn() call allocates, over at most reps calls."""
    once = per_call(fn, 1)
    if once:
        gc.collect()
        reps = max(1, min(reps, int(gc.mem_free() // (4 * once))))
    return per_call(fn, reps)

"""Bytes a call allocates on MicroPython, measured honestly.

The GC is disabled around the measured loop, so every allocation shows in
the ``gc.mem_alloc()`` delta (after a ``gc.collect()`` one would only see
what is kept).  The cost of the empty loop is subtracted.  MicroPython only:
CPython has no ``gc.mem_alloc``.
"""
import gc


def _loop(fn, reps):
    gc.collect()
    gc.disable()
    try:
        before = gc.mem_alloc()
        for _ in range(reps):
            fn()
        return gc.mem_alloc() - before
    finally:
        gc.enable()


def _nothing():
    pass


def per_call(fn, reps=200):
    """Average bytes allocated by one fn() call over reps calls (a float)."""
    fn()  # a first call may build caches; steady state is what counts
    return max(0, _loop(fn, reps) - _loop(_nothing, reps)) / reps

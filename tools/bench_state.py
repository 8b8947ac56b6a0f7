"""Heap and time of the core state; runs on MicroPython and on CPython.

    micropython -X heapsize=220000 tools/bench_state.py
Prints one `name value unit` line per figure.
"""
import gc
import sys

sys.path.insert(0, "firmware")
from ccrdt.compat import IS_MICROPYTHON, ticks_ms, ticks_diff  # noqa: E402
from ccrdt.state import ConstraintState  # noqa: E402
import ccrdt.delta  # noqa: E402,F401  (loaded up front: its code is not state)

NODES, CONSTRAINTS = 32, 64


def heap():
    gc.collect()
    return gc.mem_alloc() if IS_MICROPYTHON else 0


def full_state(name):
    """32 nodes x 64 constraints: each node added two and counted some checks."""
    s = ConstraintState(name)
    for i in range(NODES):
        h = ConstraintState("n%02d" % i, max_nodes=2, max_constraints=2)
        h.add_constraint("c%02d-a" % i)
        h.add_constraint("c%02d-b" % i)
        h.record_satisfied(1000 + i)
        h.record_violations(i)
        s.merge(h)
    return s


def per_call(fn, rounds):
    t0 = ticks_ms()
    for _ in range(rounds):
        fn()
    return ticks_diff(ticks_ms(), t0) * 1000 // rounds


def main():
    base = heap()
    empty = ConstraintState("a")
    empty_bytes = heap() - base
    del empty
    base = heap()
    x = full_state("n00")
    full_bytes = heap() - base
    assert x.active_constraint_count() == CONSTRAINTS and len(x.nodes()) == NODES
    y = x.copy()
    y.record_satisfied(1)
    x.merge(y)
    x.state_hash()  # warm up: the part reader/writer are built on first use
    y.record_satisfied(1)
    before = heap()
    x.merge(y)
    merge_alloc = heap() - before
    y.record_satisfied(1)
    x.merge(y)
    before = heap()
    x.state_hash()
    hash_alloc = heap() - before
    if IS_MICROPYTHON:  # CPython has no comparable heap counter
        print("empty_state_heap %d bytes" % empty_bytes)
        print("full_state_heap %d bytes" % full_bytes)
        print("merge_alloc %d bytes" % merge_alloc)
        print("state_hash_alloc %d bytes" % hash_alloc)

    def merge_changed():
        y.record_satisfied(1)
        x.merge(y)

    def hash_changed():
        x.record_satisfied(1)
        x.state_hash()
    print("merge_time %d us" % per_call(merge_changed, 20))
    print("hash_time %d us" % per_call(hash_changed, 50))


main()

"""Heap and time of the core state; runs on MicroPython and on CPython.

    micropython -X heapsize=110000 tools/bench_state.py
Prints one `name value unit` line per figure.  *_kept: heap still in use
after gc.collect(), what a state keeps.  *_alloc: bytes one call allocates,
measured with the GC disabled around the loop (host_tests/allocs.py).
"""
import sys

if sys.argv[1:2] in (["-h"], ["--help"]):  # a board-side script: its docstring is its help
    print(globals().get("__doc__") or "%s: see the docstring at its top" % sys.argv[0])
    sys.exit(0)
import gc

sys.path[:0] = ["firmware", "host_tests"]
import ccrdt.delta  # noqa: E402,F401  (loaded up front: its code is not state)
from ccrdt.compat import IS_MICROPYTHON, ticks_diff, ticks_ms  # noqa: E402
from ccrdt.state import ConstraintState  # noqa: E402

NODES, CONSTRAINTS = 32, 64


def kept():
    gc.collect()
    return gc.mem_alloc() if IS_MICROPYTHON else 0


def full_state(name, base=1000):
    """32 nodes x 64 constraints: each node added two and counted some
    checks, base + i of them (base 2**31: counters past a 32-bit word)."""
    s = ConstraintState(name)
    for i in range(NODES):
        h = ConstraintState("n%02d" % i, max_nodes=2, max_constraints=2)
        h.add_constraint("c%02d-a" % i)
        h.add_constraint("c%02d-b" % i)
        h.record_satisfied(base + i)
        h.record_violations(i)
        s.merge(h)
    return s


def us_per_call(fn, rounds):
    t0 = ticks_ms()
    for _ in range(rounds):
        fn()
    return ticks_diff(ticks_ms(), t0) * 1000 // rounds


def allocations(base, suffix):
    """Allocation per call of the operations a node repeats, on a full
    state x and a peer y that holds the same."""
    from allocfit import bytes_per_call
    x, y = full_state("n00", base), full_state("n01", base)

    def record():
        x.record_satisfied(1)

    def record_then_hash():
        x.record_satisfied(1)
        x.state_hash()

    def merge_equal():
        x.merge(y)

    def peer_record_then_merge():
        y.record_satisfied(1)
        x.merge(y)
    x.state_hash()  # warm up: the part reader/writer are built on first use
    for name, fn in (("record", record), ("record_then_hash", record_then_hash),
                     ("peer_record_then_merge", peer_record_then_merge)):
        print("%s_alloc%s %d bytes" % (name, suffix, bytes_per_call(fn, 200)))
    y.merge(x)
    assert x == y
    print("merge_equal_alloc%s %d bytes" % (suffix, bytes_per_call(merge_equal, 200)))


def kept_figures():
    base = kept()
    empty = ConstraintState("a")
    print("empty_state_kept %d bytes" % (kept() - base))
    del empty
    base = kept()
    x = full_state("n00")
    print("full_state_kept %d bytes" % (kept() - base))
    assert x.active_constraint_count() == CONSTRAINTS and len(x.nodes()) == NODES


def main():
    if IS_MICROPYTHON:  # CPython has no comparable heap counter
        kept_figures()
        allocations(1000, "")
        allocations(2 ** 31, "_2e31")
    x, y = full_state("n00"), full_state("n01")

    def merge_changed():
        y.record_satisfied(1)
        x.merge(y)

    def hash_changed():
        x.record_satisfied(1)
        x.state_hash()
    print("merge_time %d us" % us_per_call(merge_changed, 20))
    print("hash_time %d us" % us_per_call(hash_changed, 50))


main()

"""At full capacity (32 nodes x 64 constraints, the longest names and ids,
counters near 2**64) every frame fits 250 bytes and an empty node takes the
whole state.  A module of its own: on the RV32 board, two full states need
the heap another test module would take.  Runs on CPython and under
MicroPython (host_tests/mprun.py, tools/rv32board.py)."""
from ccrdt import wire
from ccrdt.gossip import GossipNode
from drive import introduce, ping, run_exchange
import histories

KEY = bytes(range(16))


def test_frames_fit_250_bytes_at_full_capacity():
    full = histories.full_node("full", KEY, longest=True)
    assert full.state.active_constraint_count() == 64 and len(full.state.nodes()) == 32
    snapshot_size = len(full.state.encode())
    empty = GossipNode("empty", KEY, max_nodes=33)
    sizes = [0, 0]  # total, largest

    def seen(f):
        sizes[0] += len(f)
        sizes[1] = max(sizes[1], len(f))
    introduce(empty, full)
    run_exchange(empty, full, seen)
    # The full state does not fit a few frames: it really was cut up.
    assert sizes[0] > snapshot_size
    assert sizes[1] <= wire.FRAME_MAX
    assert empty.state == full.state
    assert len(ping(full)) <= wire.FRAME_MAX

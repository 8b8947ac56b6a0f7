"""Hot paths that must allocate nothing, on MicroPython (64- and 32-bit).

Run by ``test_zero_alloc.py`` through ``mprun.py`` under each MicroPython;
not a pytest module, since CPython has no ``gc.mem_alloc``.  Every state
here is at full capacity (32 nodes x 64 constraints) with counters past
2**31, 2**32 and near 2**63: on a 32-bit port each of those words would be
a heap int if it were ever read into Python.
"""
from allocs import per_call
import histories
from ccrdt import wire
from ccrdt.gossip import CHANGED, CONVERGED, GossipNode
from ccrdt.proto import DELTA
from ccrdt.state import ConstraintState
from drive import ping, receive

KEY = bytes(range(16))


def _drop(buf, n):
    pass


def _answer(node, asker):
    """The DELTA frames node sends when asker shows it its slice hashes:
    only the slices where the two differ."""
    buf = bytearray(wire.FRAME_MAX)
    n = asker.ping_into(buf, True)
    return [bytearray(f) for f in receive(node, bytes(buf[:n])).responses
            if wire.kind(f) == DELTA]


def _twin(node):
    """Another board holding the same state as node."""
    twin = GossipNode("node-99", KEY)
    twin.state.merge(node.state)  # not through a snapshot: its bytes would crowd a board's heap
    return twin


def _resent(sender, f, k):
    """k copies of frame f as its sender would send the same content again,
    each with its next sequence number: fresh frames, not replays (a replay
    is refused before anything else reads it)."""
    out = []
    for _ in range(k):
        g = bytearray(f)
        sender.framer.begin(g, wire.kind(f))
        out.append(bytearray(g[:sender.framer.seal(g, len(f) - wire.MAC_LEN)]))
    return out


def _assert_each(node, frames, reps, what, changes=True, emit=_drop):
    """node handles frames one after the other (the first before measuring),
    each changing its state if changes, allocating nothing."""
    nxt = [0]

    def one():
        f = frames[nxt[0]]
        nxt[0] += 1
        bits = node.handle(f, len(f), emit)
        assert bits & CHANGED if changes else not bits & CHANGED
    got = per_call(one, reps)
    assert got == 0, "%s allocates %s bytes" % (what, got)


def _assert_none(what, fn, reps=100):
    got = per_call(fn, reps)
    assert got == 0, "%s allocates %s bytes per call" % (what, got)


def test_duplicate_and_replayed_deltas_allocate_nothing():
    a = histories.full_node("node-00", KEY, longest=True)
    b = _twin(a)
    a.record_satisfied(2 ** 31)
    f = _answer(a, b)[0]
    n = len(f)
    b.handle(f, n, _drop)
    # the same content sent again (fresh), and the same frame recorded and replayed
    _assert_each(b, _resent(a, f, 41), 40, "a DELTA of what the node holds", changes=False)
    replayed = b.rejected(10)
    _assert_none("a replayed DELTA", lambda: b.handle(f, n, _drop))
    assert b.rejected(10) > replayed
    p = bytearray(ping(a, b.state.tag ^ 1))  # recorded on its way to another board
    elsewhere = b.rejected(11)
    _assert_none("a PING for another board", lambda: b.handle(p, len(p), _drop))
    assert b.rejected(11) > elsewhere


def test_state_changing_deltas_allocate_nothing():
    a = histories.full_node("node-00", KEY, longest=True)
    b = _twin(a)
    reps = 40
    frames = []
    for i in range(reps + 1):
        a.record_satisfied(2 ** 31 + i)  # the low word passes 2**31, the high one moves too
        a.record_violations(3)
        frames += _answer(a, b)  # b is not changed until the measured loop
    _assert_each(b, frames, reps, "a state-changing DELTA")


def test_ping_of_a_converged_peer_allocates_nothing():
    a = histories.full_node("node-00", KEY, longest=True)
    b = _twin(a)
    for _ in range(4):  # past the pings that carry digests after a change
        f = bytearray(ping(a))
    frames = _resent(a, f, 42)  # 40 measured: copies of a frame take the RV32 board's heap
    assert b.handle(frames[0], len(f), _drop) == CONVERGED
    _assert_each(b, frames[1:], 40, "a PING of a converged peer", changes=False)


def test_state_hash_after_a_change_allocates_nothing():
    a = histories.full_node("node-00", KEY, longest=True)
    b = _twin(a)
    reps = 40
    frames = []
    for i in range(reps + 1):
        a.record_violations(2 ** 32 + i)
        frames += _answer(a, b)  # b is not changed until the measured loop
    nxt = [0]
    st = b.state

    def change():
        f = frames[nxt[0]]
        nxt[0] += 1
        b.handle(f, len(f), _drop)

    def change_and_hash():
        change()
        st.state_hash()
    # the change itself is measured (and must be free) above; here both
    with_hash = per_call(change_and_hash, reps // 2)
    assert with_hash == 0, "state_hash() after a change allocates %s bytes" % with_hash


def test_merge_allocates_nothing():
    a = histories.full_node("node-00", KEY, longest=True).state
    b = ConstraintState("node-99")
    b.merge(a)
    _assert_none("merge() of an equal state", lambda: b.merge(a), 20)
    # A merge that changes something: a local operation on a makes each
    # merge a real join; what that operation allocates itself is subtracted.
    a.record_satisfied(2 ** 33)

    def change():
        a.record_satisfied(1)

    def change_and_merge():
        a.record_satisfied(1)
        assert b.merge(a)
    got = per_call(change_and_merge, 20) - per_call(change, 20)
    assert got == 0, "merge() of a changed state allocates %s bytes" % got


def test_broadcast_pings_with_changes_allocate_nothing():
    # The ESP-NOW receive path: a neighbour's own changes, broadcast.
    a = histories.full_node("node-00", KEY, longest=True)
    a.broadcast(_drop)  # what the building of a's state would announce
    b = _twin(a)
    reps = 40
    frames = []
    for i in range(reps + 1):
        a.record_satisfied(2 ** 31 + i)
        a.broadcast(lambda buf, n: frames.append(bytearray(buf[:n])))
    _assert_each(b, frames, reps, "a broadcast PING with changes")


def test_answering_a_ping_whose_slices_differ_allocates_nothing():
    a = histories.full_node("node-00", KEY, longest=True)
    b = _twin(a)
    a.record_satisfied(2 ** 32)  # a differs from b in one slice
    buf = bytearray(wire.FRAME_MAX)
    p = bytearray(buf[:a.ping_into(buf, True)])
    n = len(p)
    answers = []
    b.handle(p, n, lambda f, m: answers.append(m))
    assert answers  # b answers with the slice that differs
    sent = [0]

    def count(f, m):
        sent[0] += 1
    _assert_each(b, _resent(a, p, 41), 40, "answering a PING with slice hashes",
                 changes=False, emit=count)
    assert sent[0] >= 40  # each was answered

"""The seed's gossip scenarios with push-pull, frame limits, and refusals."""
from ccrdt import proto, wire
from ccrdt.gossip import GossipNode
from drive import exchange, introduce, ping, receive, run_exchange
from ccrdt.proto import ACK, DELTA, MALFORMED, NO_ROOM
from check import Rng
import histories

KEY = bytes(range(16))


def node(name, **kw):
    kw.setdefault("max_nodes", 8)
    kw.setdefault("max_constraints", 16)
    return GossipNode(name, KEY, **kw)


def test_empty_nodes_converge_immediately():
    a, b = node("a"), node("b")
    r = receive(b, ping(a))
    assert r.converged and not r.state_changed
    assert len(r.responses) == 1 and wire.kind(r.responses[0]) == ACK
    ack = receive(a, r.responses[0])
    assert ack.converged and a.peer_hash(b.state.tag) == b.state_hash()


def test_one_exchange_syncs_both_ways():
    a, b = node("a"), node("b")
    a.add_constraint("c1")
    a.record_satisfied(100)
    b.add_constraint("c2")
    assert exchange(a, b)
    assert a.state == b.state and a.state_hash() == b.state_hash()
    assert a.state.constraints.contains("c2") and b.state.constraints.contains("c1")
    assert a.state.active_constraint_count() == 2
    assert not exchange(b, a)  # nothing left to move


def test_three_way_eventual_consistency():
    a, b, c = node("a"), node("b"), node("c")
    a.add_constraint("c1")
    b.add_constraint("c2")
    c.add_constraint("c3")
    exchange(a, b)
    exchange(b, c)
    exchange(c, a)
    for n in (a, b, c):
        assert n.state.active_constraint_count() == 3
    assert a.state == b.state == c.state


def test_remove_and_counters_travel():
    a, b = node("a"), node("b")
    a.add_constraint("c1")
    exchange(a, b)
    b.remove_constraint("c1")
    b.record_violations(4)
    exchange(a, b)
    assert not a.state.constraints.contains("c1")
    assert a.state.metrics.node_violations("b") == 4


def test_display():
    s = str(node("forgemaster"))
    assert "forgemaster" in s and "0 constraints" in s


def test_one_changed_constraint_moves_at_most_three_frames():
    nodes = [node("n%d" % i) for i in range(4)]
    for i, n in enumerate(nodes):
        n.add_constraint("own%d" % i)
        n.record_satisfied(i + 1)
    for _ in range(2):
        for x in nodes:
            for y in nodes:
                if x is not y:
                    exchange(x, y)
    a, b = nodes[0], nodes[1]
    assert a.state == b.state
    a.add_constraint("new")
    frames = run_exchange(a, b)  # a has it: ping, b's slice, a's slice
    assert len(frames) <= 3 and b.state == a.state
    b.add_constraint("newer")
    frames = run_exchange(a, b)  # b has it: ping, b's slice
    assert len(frames) <= 3 and b.state == a.state


def full_node(name):
    return histories.full_node(name, KEY, longest=True)


def assert_refused(n, frame, reason=None):
    before = n.state.encode()
    rejected = n.rejected()
    r = receive(n, frame)
    assert r.responses == [] and not r.state_changed
    assert n.rejected() == rejected + 1, frame
    if reason is not None:
        assert n.rejected(reason) > 0
    assert n.state.encode() == before


def test_forged_corrupted_truncated_and_foreign_frames_are_refused():
    a, b = node("a"), node("b")
    a.add_constraint("c1")
    b.add_constraint("c2")
    p = ping(a)
    delta = [f for f in receive(b, p).responses if wire.kind(f) == DELTA][0]
    forger = GossipNode("a", bytes(16), max_nodes=8, max_constraints=16)
    forger.add_constraint("evil")
    assert_refused(b, ping(forger), proto.BAD_MAC)
    assert_refused(a, ping(GossipNode("x", KEY, fleet=2, max_nodes=8, max_constraints=16)),
                   proto.OTHER_FLEET)
    for cut in (0, 1, 9, 17, len(delta) - 1):
        assert_refused(a, delta[:cut])
    assert_refused(a, delta + b"\x00")
    assert_refused(a, bytes(300), proto.BAD_SIZE)
    for i in range(len(delta)):
        bad = bytearray(delta)
        bad[i] ^= 0x10
        assert_refused(a, bytes(bad))


def parts(frame):
    """Where the part of each entry of a DELTA frame starts."""
    o, out = wire.HEADER, []
    while o < len(frame) - wire.MAC_LEN:
        out.append(o + proto.ENTRY)
        o += proto.ENTRY + frame[o + 5]
    return out


_FORGER = node("m")


def sealed(payload, kind):
    """A frame with a valid MAC around any payload: a fleet member gone wrong
    (one board: its frames count on, as a board's do)."""
    buf = bytearray(300)
    o = _FORGER.framer.begin(buf, kind)
    buf[o:o + len(payload)] = payload
    end = _FORGER.framer.seal(buf, o + len(payload))
    return bytes(buf[:end])


def test_authenticated_but_malformed_payloads_are_refused():
    a, b = node("a"), node("b")
    a.add_constraint("c1")
    good = [f for f in receive(a, ping(b)).responses if wire.kind(f) == DELTA][0]
    payload = good[wire.HEADER:-wire.MAC_LEN]
    rng = Rng(3)
    for _ in range(200):
        p = bytearray(payload)
        p[rng.below(len(p))] = rng.below(256)
        f = sealed(bytes(p), DELTA)
        before = b.state.encode()
        r = receive(b, f)
        if not r.state_changed:  # some mutations still form a valid part
            assert b.state.encode() == before
    assert_refused(b, sealed(b"\x00\x01", DELTA), MALFORMED)
    assert_refused(b, sealed(b"", 9))


def test_a_part_that_lists_an_origin_twice_is_refused():
    # A buggy board with the key: one origin entry written twice (the
    # second one's context ahead of the first).  The slice hash of the
    # entries is any but the receiver's, so that the part is read.
    from ccrdt.layout import SLICES
    from ccrdt.fnv import tag30
    a, b = node("a"), node("b")
    a.add_constraint("c1")
    w = a.state.part_writer()
    w.start(tag30("c1") % SLICES)
    part = bytearray(250)
    n = w.next(part, 0)
    assert part[1] == 1  # one origin
    entry = bytearray(part[2:10])
    entry[4] += 1
    forged = part[:1] + bytes([2]) + part[2:10] + entry + part[10:n]
    payload = bytes([0]) + b"\x01\x02\x03\x04" + bytes([len(forged)]) + forged
    assert_refused(b, sealed(payload, DELTA), MALFORMED)
    ok = part[:n]
    assert receive(b, sealed(bytes([0]) + b"\x01\x02\x03\x04" + bytes([n]) + ok, DELTA)
                   ).state_changed  # the same part as written joins


def test_a_part_that_needs_room_is_refused_alone():
    r, x, y = node("r", max_nodes=2), node("x"), node("y")
    r.record_satisfied(1)
    x.record_satisfied(1)
    r.state.merge(x.state)  # r's table is full: r and x
    x.add_constraint("c1")  # news from a node r knows
    y.record_violations(5)  # and from one it has no room for
    s = node("s")
    s.state.merge(x.state)
    s.state.merge(y.state)
    for _ in range(3):
        exchange(s, r)
    assert r.state.constraints.contains("c1")
    assert r.rejected(NO_ROOM) > 0 and r.state.metrics.total_violations() == 0
    assert len(r.state.nodes()) == 2


def test_one_new_origin_in_many_parts_of_a_frame_takes_one_slot():
    # Every part of y's frames names y's origin, which r does not know and
    # has room for once: the batch counts it once, and each part after the
    # first joins into the slot the first one took.
    y = node("y")
    for i in range(8):
        y.add_constraint("k%d" % i)
    y.record_satisfied(3)
    r = node("r", max_nodes=2)
    r.record_satisfied(1)
    frames = []
    y.send_all(lambda buf, n: frames.append(bytes(buf[:n])))
    most = 0
    for f in frames:
        most = max(most, len(parts(f)))
        receive(r, f)
    assert most > 1
    assert r.rejected() == 0 and len(r.state.nodes()) == 2
    assert r.state.constraints.active_constraints() == y.state.constraints.active_constraints()
    assert r.state.metrics.node_satisfied("y") == 3


def test_frames_packed_with_new_constraints_join_whole():
    # As many new constraints as frames hold: four origins with all the
    # 2-byte ids they may hold in one slice (8 each), to a receiver with
    # room for them all, which counts and joins every one (its batch
    # scratch is sized by what a frame can hold).
    from ccrdt.fnv import tag30
    from ccrdt.state import ConstraintState
    ids, c = [], 0
    while len(ids) < 32:
        cid = "%c%c" % (48 + c // 40, 48 + c % 40)
        c += 1
        if tag30(cid) % 32 == 0:
            ids.append(cid)
    y = node("y", max_nodes=8, max_constraints=64)
    for i in range(4):
        h = ConstraintState("s%d" % i, max_nodes=2, max_constraints=8)
        for cid in ids[8 * i:8 * i + 8]:
            h.add_constraint(cid)
        y.state.merge(h)
    frames = []
    y.send_all(lambda buf, n: frames.append(bytes(buf[:n])))
    r = node("r", max_nodes=8, max_constraints=64)
    most = 0
    for f in frames:
        new = 0
        for p in parts(f):  # a part: slice, origin count k, k origins, element count
            new += f[p + 2 + 8 * f[p + 1]]
        most = max(most, new)
        receive(r, f)
    assert most >= 16
    assert r.rejected() == 0 and r.state.constraints.active_constraints() == sorted(ids)


def test_frames_that_do_not_fit_the_tables_are_refused_whole():
    full, small = full_node("full"), GossipNode("small", KEY)
    small.record_satisfied(1)  # 32 + itself: no room
    before = small.state.state_hash()
    introduce(small, full)
    frames = receive(full, ping(small, full.state.tag)).responses
    for f in frames:
        receive(small, f)
    assert small.rejected(NO_ROOM) > 0
    # Frames that fit were joined; the table never overflowed.
    assert len(small.state.nodes()) <= 32 and small.state.state_hash() != before


def test_random_frames_never_raise_or_change_state():
    a = node("a")
    a.add_constraint("c1")
    before = a.state.encode()
    rng = Rng(11)
    for i in range(300):
        n = rng.below(260)
        f = bytes(rng.below(256) for _ in range(n))
        receive(a, f)
    assert a.state.encode() == before and a.rejected() == 300


def test_replayed_and_duplicated_frames_are_harmless():
    a, b = node("a"), node("b")
    a.add_constraint("c1")
    frames = run_exchange(a, b)
    final = b.state.copy()
    for f in frames * 2:
        receive(a, f)
        receive(b, f)
    assert b.state == final and a.state == b.state


def test_broadcast_carries_own_changes_and_nobody_answers():
    a, b, c = node("a"), node("b"), node("c")
    frames = []

    def emit(buf, n):
        frames.append(bytes(buf[:n]))
    assert a.broadcast(emit) == 0  # nothing done yet: nothing to say
    a.add_constraint("c1")
    a.record_satisfied(5)
    assert a.broadcast(emit) >= 1
    for f in frames:
        assert len(f) <= wire.FRAME_MAX
        for receiver in (b, c):
            assert receive(receiver, f).responses == []
    assert b.state == a.state and c.state == a.state
    frames.clear()
    assert a.broadcast(emit) == 0  # said already
    assert b.broadcast(emit) == 0  # changes heard from others are not re-broadcast


def test_broadcast_flag_combinations_are_checked():
    a, b = node("a"), node("b")
    a.add_constraint("c1")
    frames = []
    a.broadcast(lambda buf, n: frames.append(bytearray(buf[:n])))
    f = frames[0]
    for flags in (5, 7, 8):  # BCAST with a digest, unknown bits
        payload = bytearray(f[wire.HEADER:-wire.MAC_LEN])
        payload[0] = flags
        assert_refused(b, sealed(bytes(payload), 1), MALFORMED)


def test_presence_ping_is_heard_and_not_answered():
    a, b = node("a"), node("b")
    a.add_constraint("c1")
    buf = bytearray(wire.FRAME_MAX)
    n = a.presence_into(buf)
    r = receive(b, bytes(buf[:n]))
    assert r.responses == [] and not r.state_changed and b.rejected() == 0


def test_what_unicast_repaired_is_broadcast_on_and_what_was_broadcast_is_not():
    a, b, c = node("a"), node("b"), node("c")
    sink = []

    def emit(buf, n):
        sink.append(bytes(buf[:n]))
    a.add_constraint("c1")
    a.broadcast(emit)
    assert len(sink) >= 1
    for f in sink:
        receive(b, f)  # b heard a's broadcast; c missed it
    sink.clear()
    assert b.broadcast(emit) == 0
    exchange(c, b)  # c is repaired by unicast: its neighbours may have missed it too
    assert c.state.constraints.contains("c1")
    assert c.broadcast(emit) >= 1

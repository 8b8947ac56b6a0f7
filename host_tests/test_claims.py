"""Remote input that cannot poison: what an authenticated but buggy or
hostile board can send, and identity mistakes of operators (a replaced
board, two boards with one name).  Runs on CPython and both MicroPythons."""
from struct import pack

from ccrdt import wire
from ccrdt.restore import SnapshotVersionError
from ccrdt.fnv import fnv1a32, tag30
from ccrdt.gossip import BAD_NAME, DELTA, MALFORMED, PING, GossipNode
from ccrdt.layout import COUNTER_LIMIT, SLICES
from ccrdt.state import ConstraintState, origin_tag
from ccrdt.restore import decode_state
from check import raises
from drive import exchange, introduce, ping, receive

KEY = bytes(range(16))


def node(name, incarnation=0):
    return GossipNode(name, KEY, max_nodes=8, max_constraints=16,
                      state=ConstraintState(name, 8, 16, incarnation))


def frame(sender, kind, payload):
    """A frame with a valid MAC from sender (a GossipNode): a fleet member."""
    buf = bytearray(wire.FRAME_MAX)
    o = sender.framer.begin(buf, kind)
    buf[o:o + len(payload)] = payload
    return bytes(buf[:sender.framer.seal(buf, o + len(payload))])


def part(s, origins=(), elements=(), rows=(), position=None):
    """A delta part as ccrdt.delta lays it out: origins (tag, context),
    elements (id bytes, [(origin index, dot)]), rows (tag, sat, vio, ver)."""
    out = bytearray([s, len(origins)])
    for tag, c in origins:
        out += pack("<II", tag, c)
    out.append(len(elements))
    for cid, dots in elements:
        out.append(len(cid))
        out += cid
        out.append(len(dots))
        for j, d in dots:
            out += pack("<BI", j, d)
    out.append(len(rows))
    for tag, sat, vio, ver in rows:
        out += pack("<IQQI", tag, sat, vio, ver)
    if position is None:
        out.append(0)
    else:
        out.append(1)
        out += pack("<iiII", *position)
    return bytes(out)


def delta(*parts):
    """DELTA payload: each part as an entry with a slice hash nobody has."""
    out = bytearray()
    for p in parts:
        out += pack("<BIB", 1, 0x12345678, len(p)) + p
    return bytes(out)


def refused(victim, f, reason):
    before, count = victim.state.encode(), victim.rejected(reason)
    receive(victim, f)
    assert victim.rejected(reason) == count + 1
    assert victim.state.encode() == before


def test_a_constraint_id_that_is_not_utf8_is_refused():
    bad = b"\xff\xfe"
    liar, victim = node("liar"), node("victim")
    p = part(tag30(bad) % SLICES, [(liar.state.tag, 1)], [(bad, [(0, 1)])])
    refused(victim, frame(liar, DELTA, delta(p)), MALFORMED)
    victim.state.constraints.active_constraints()  # still readable


def test_counters_at_the_top_of_their_range_are_refused():
    liar, victim = node("liar"), node("victim")
    t = liar.state.tag
    s = t % SLICES
    for row in ((t, 3 << 62, 0, 1), (t, 0, 0xFFFFFFFFFFFFFFFF, 1), (t, 0, 0, COUNTER_LIMIT),
                (t, 0, 0, 0xFFFFFFFF)):
        refused(victim, frame(liar, DELTA, delta(part(s, rows=[row]))), MALFORMED)
    refused(victim, frame(liar, DELTA, delta(part(s, [(t, COUNTER_LIMIT)]))), MALFORMED)
    refused(victim, frame(liar, DELTA, delta(part(0, position=(1, 1, 0xFFFFFFFF, t)))), MALFORMED)


def test_values_just_under_the_limits_disable_no_board():
    liar, victim = node("liar"), node("victim")
    victim.record_satisfied(1)
    victim.add_constraint("held")
    old = victim.state.tag
    s = old % SLICES
    # the victim's own row at the largest valid values, and a position clock
    top = (old, (3 << 62) - 1, (3 << 62) - 1, COUNTER_LIMIT - 1)
    receive(victim, frame(liar, DELTA, delta(part(s, rows=[top]))))
    receive(victim, frame(liar, DELTA,
                         delta(part(0, position=(0, 0, COUNTER_LIMIT - 1, liar.state.tag)))))
    assert victim.own_claims() == 1 and victim.state.tag != old  # a new life
    victim.record_satisfied(1)  # every operation still works
    victim.record_violations(1)
    victim.add_constraint("new")
    victim.remove_constraint("new")
    victim.update_position((0, 0))  # a tie of norm and (saturated) clock: no error
    assert victim.update_position((1, 0)) is False  # a larger norm loses
    assert victim.state.position.norm == 0
    assert victim.state.constraints.contains("held")
    assert victim.state.metrics.origin(victim.state.tag) == (1, 1)


def test_a_context_claimed_for_a_node_does_not_erase_its_adds():
    victim, peer, liar = node("victim"), node("peer"), node("liar")
    victim.add_constraint("held")
    exchange(victim, peer)
    s = tag30("held") % SLICES
    old = victim.state.tag
    # liar says it has seen 1000 of victim's dots in that slice, and none live
    forged = frame(liar, DELTA, delta(part(s, [(old, 1000)])))
    receive(peer, forged)
    assert not peer.state.constraints.contains("held")  # the peer cannot tell
    receive(victim, forged)
    # The victim goes on as a new incarnation and adds what it held again.
    assert victim.own_claims() == 1 and victim.state.tag != old
    assert victim.state.constraints.contains("held")
    for _ in range(2):
        exchange(victim, peer)
    assert peer.state.constraints.contains("held") and peer.state == victim.state
    same_slice = [c for c in ("n%d" % i for i in range(400)) if tag30(c) % SLICES == s][0]
    victim.add_constraint(same_slice)  # a new add after the claim
    exchange(victim, peer)
    assert peer.state.constraints.contains(same_slice)


def test_a_board_with_this_very_origin_is_told_apart_by_its_boot():
    # Two boards with one name and incarnation 0 (snapshots of version 1), or
    # a cloned flash: the same tag.  A PING from the other boot is a clash,
    # and the board that hears it goes on as a new incarnation; what each
    # counts from then on is its own.  (What both counted under the shared
    # origin before the first PING is one row, joined by max.)
    a, b = GossipNode("kitchen-1", KEY), GossipNode("kitchen-1", KEY)
    assert a.state.tag == b.state.tag
    exchange(a, b)
    assert (a.clashes or b.clashes) and a.state.tag != b.state.tag
    a.record_satisfied(5)
    b.record_satisfied(7)
    for _ in range(2):
        exchange(a, b)
    assert a.state == b.state and a.state.metrics.total_satisfied() == 12
    tag = a.state.tag
    assert not receive(a, ping(a)).responses and a.state.tag == tag  # its own echo: ignored


def test_a_name_must_hash_to_its_sender():
    kitchen, victim = node("kitchen-1"), node("victim")
    kitchen.record_satisfied(1)
    exchange(kitchen, victim)
    liar = node("liar")
    # a PING in kitchen-1's name, but sealed by liar: its tag is liar's
    # (incarnation, boot id and a 6-byte echo after the name)
    name = b"garage"
    f = frame(liar, PING, pack("<BIB", 0, 0, len(name)) + name + pack("<IIIH", 0, 0, 0, 0))
    refused(victim, f, BAD_NAME)
    bad = b"\xff\xfe"
    f = frame(liar, PING, pack("<BIB", 0, 0, len(bad)) + bad + pack("<IIIH", 0, 0, 0, 0))
    refused(victim, f, BAD_NAME)
    assert victim.state.nodes() == ["kitchen-1"]  # nothing else learned


def test_two_boards_with_one_name_lose_nothing_and_are_reported():
    a, b = node("kitchen-1", 11), node("kitchen-1", 22)
    a.record_satisfied(5)
    a.add_constraint("from-a")
    b.record_satisfied(7)
    b.add_constraint("from-b")
    b.remove_constraint("from-b")
    b.add_constraint("from-b")
    introduce(a, b)  # both live, in range: their PINGs echo each other's frames
    exchange(a, b)
    exchange(b, a)
    assert a.clashes and b.clashes and a.clash_tag == b.state.tag
    for n in (a, b):
        assert n.state.metrics.node_satisfied("kitchen-1") == 12
        assert n.state.constraints.active_constraints() == ["from-a", "from-b"]


def test_a_replaced_board_keeps_counting_above_its_old_row():
    old, fleet = node("kitchen-1", 1), node("hub")
    old.record_satisfied(50)
    old.add_constraint("c")
    old.remove_constraint("c")
    exchange(old, fleet)
    new = node("kitchen-1", 2)  # empty flash: a new incarnation
    new.record_satisfied(5)
    new.add_constraint("c")
    exchange(new, fleet)
    exchange(fleet, new)
    for n in (new, fleet):
        assert n.state.metrics.total_satisfied() == 55
        assert n.state.constraints.contains("c")
    # The hub heard both incarnations name themselves; the new board never
    # heard the old one (names are learned from PINGs, not replicated).
    assert fleet.state.metrics.node_satisfied("kitchen-1") == 55
    assert not new.clashes  # the old board is gone, not a duplicate


def test_a_recording_of_its_predecessor_is_no_twin_to_a_replaced_board():
    # An outsider recorded the old board's PINGs and sends them to the new
    # one, which has never heard that tag (every frame of it is fresh there):
    # a board that does not echo this one is no live board with its name.
    old = node("kitchen-1", 1)
    recorded = [ping(old) for _ in range(3)]
    new = node("kitchen-1", 2)
    for f in recorded:
        receive(new, f)
    assert not new.clashes and new.rejected() == 0
    # The same board alive and in range echoes the new one: reported.
    introduce(old, new)
    receive(new, ping(old, new.state.tag))
    assert new.clashes == 1 and new.clash_tag == old.state.tag


def test_snapshots_of_versions_1_and_2_load_and_unknown_versions_are_told_apart():
    s = ConstraintState("n1", 4, 8)
    s.add_constraint("c1")
    s.record_satisfied(9)
    s.epoch, s.owner = 7, b"\x01\x00abcd"
    v3 = s.encode()
    assert v3[:4] == b"CCS\x03"
    back = decode_state(v3, "n1")
    assert back == s and back.epoch == 7 and back.owner == s.owner
    rest = v3[13 + len(s.owner):-4]  # names and parts
    # the version 2 form: no epoch, no owner
    body = b"CCS\x02" + v3[4:10] + rest
    old = decode_state(body + fnv1a32(body).to_bytes(4, "little"), "n1")
    assert old == s and old.epoch == 0 and old.owner == b""
    # the version 1 form: no incarnation field either
    body = b"CCS\x01" + v3[4:6] + rest
    v1 = body + fnv1a32(body).to_bytes(4, "little")
    assert decode_state(v1, "n1") == s
    body = b"CCS\x09" + v3[4:-4]
    e = raises(SnapshotVersionError, decode_state,
               body + fnv1a32(body).to_bytes(4, "little"), "n1")
    assert "version 9" in str(e)


def test_the_incarnation_survives_a_snapshot():
    s = ConstraintState("n1", 4, 8, incarnation=12345)
    s.record_satisfied(1)
    back = decode_state(s.encode(), "n1")
    assert back.incarnation == 12345 and back.tag == s.tag == origin_tag(b"n1", 12345)
    assert origin_tag(b"n1") == tag30("n1") != s.tag

"""A node's refusals and status on every interpreter: a refused local
operation raises at the call and is counted; STATUS stays right at counter
extremes and past 2**30 and 2**32 ms of uptime; refused frames and a full
node table show in it.  The node runs without a transport.  Runs on CPython
and under MicroPython (host_tests/mprun.py)."""
import os

import check

from ccrdt import CapacityError, proto, wire
from ccrdt.config import validate
from ccrdt.gossip import GossipNode
from ccrdt.layout import ROW_LIMIT
from ccrdt.node import Node
from ccrdt.state import ConstraintState
from ccrdt.store import Store
from ccrdt.status import parse, write
from drive import exchange, ping
from test_status import KEY, PERIOD, U32, U64, Clock, raises

DIR = "build/test_node_refusals"


def fresh_dir():
    check.fresh_dir(DIR)
    with open(DIR + "/fleet.key", "wb") as f:
        f.write(KEY)


def node(clock=None, keep_flash=False, **cfg):
    """A node of a fresh flash directory (or of the one there, keep_flash),
    given no transport (only its state, its queue and its status)."""
    if not keep_flash:
        fresh_dir()
    c = {"node": "a", "key_file": DIR + "/fleet.key", "udp": {"port": 1}, "max_nodes": 4,
         "max_constraints": 4}
    c.update(cfg)
    c = validate(c, "test")
    lines = []
    store = Store(DIR, "a", c["max_nodes"], c["max_constraints"], lines.append)
    return Node(c, store, [], log=lines.append, clock=clock or Clock()), lines


def status(n):
    buf = bytearray(wire.FRAME_MAX)
    return parse(buf, write(n.gossip.framer, buf, n.status_values(), n.name.encode()))


def test_node_uptime_and_status_past_2_30_and_2_32_ms():
    clock = Clock(start=PERIOD - 1)
    n, _ = node(clock)
    for _ in range(40):  # reported every 2**28 ms: about 124 days
        clock.advance(1 << 28)
        d = status(n)
        assert d["uptime_ms"] == min(clock.total - (PERIOD - 1), U32)
    assert d["uptime_ms"] == U32 and d["uptime_s"] == (40 << 28) // 1000


def test_node_status_at_counter_extremes():
    n, _ = node()
    n.gossip.record_satisfied(ROW_LIMIT - 1)  # this board's own row at its top
    for name in ("b", "c"):  # two more rows: the fleet total passes 2**64 - 1
        other = ConstraintState(name, 4, 4)
        other.record_satisfied(1 << 63)
        other.record_violations(ROW_LIMIT - 1)
        n.state.merge(other)
    assert n.state.metrics.total_satisfied() == ROW_LIMIT - 1 + (1 << 64) > U64
    d = status(n)
    assert d["satisfied"] == U64 and d["violations"] == U64
    assert d["own_satisfied"] == ROW_LIMIT - 1 and d["nodes"] == 3 and d["max_nodes"] == 4
    # The next local count would pass the limit: refused at the call, counted.
    assert "satisfied" in raises(OverflowError, n.record_satisfied, 1)
    assert n.counts == [0, 0] and status(n)["refused_ops"] == 1


def test_refused_local_operations_raise_at_the_call():
    n, _ = node(max_constraints=2)
    n.add_constraint("c1")
    n.add_constraint("c2")
    raises(ValueError, n.add_constraint, "")
    raises(TypeError, n.add_constraint, 5)
    raises(ValueError, n.remove_constraint, "x" * 17)
    assert "table full" in raises(CapacityError, n.add_constraint, "c3")
    n.remove_constraint("c1")  # queued: frees a slot at the commit
    n.add_constraint("c3")
    raises(ValueError, n.update_position, (1 << 31, 0))
    raises(ValueError, n.update_position, 5)
    raises(ValueError, n.record_violations, -1)
    raises(TypeError, n.record_violations, 1.5)
    assert n.refused_ops == 8 and len(n.pending) == 4
    assert n.commit() and n.held_ops == 0 and not n.pending
    assert n.state.constraints.active_constraints() == ["c2", "c3"]
    assert status(n)["refused_ops"] == 8


def test_refused_frames_and_a_full_node_table_show_in_status():
    n, _ = node(max_nodes=2)
    n.record_satisfied(1)
    n.commit()  # this board's own row takes a slot
    for name in ("b", "c"):
        other = GossipNode(name, KEY, max_nodes=2)
        other.record_satisfied(1)
        f = bytearray(ping(other))
        n.process(f, len(f))
    f[len(f) - 1] ^= 1  # a frame whose MAC does not match
    n.process(f, len(f))
    d = status(n)
    assert d["nodes"] == d["max_nodes"] == 2
    assert d["rejected"] == 2 and len(d["rejected_by"]) == proto.NO_ROOM
    assert d["rejected_by"][proto.NO_ROOM - 1] == 1 and d["rejected_by"][proto.BAD_MAC - 1] == 1


def test_a_node_on_its_older_snapshot_takes_a_new_incarnation():
    # Its newest snapshot lost, the board's last counts may live on other
    # boards only: the fleet holds 105, its flash the 100 of state.prev.
    # Counting on from 100 would lose 5 to the fleet's max (a wait for any
    # frame from a peer let 100 + 5 end as 100), so it goes on as a new origin.
    fresh_dir()
    st = Store(DIR, "a", 4, 4)
    s, _ = st.load(7)
    s.record_satisfied(100)
    st.save(s)
    s.record_satisfied(5)
    st.save(s)
    os.remove(DIR + "/state.bin")
    n, lines = node(keep_flash=True)
    assert n.state.incarnation != 7 and any("older snapshot" in line for line in lines)
    n.record_satisfied(5)
    assert n.commit() and n.own_counts() == (5, 0)
    peer = GossipNode("b", KEY)
    peer.state.merge(s)  # what the fleet holds of the earlier life: 105
    for _ in range(2):
        exchange(peer, n.gossip)
    assert n.state.metrics.node_satisfied("a") == 110  # 105 + 5, nothing lost
    assert n.gossip.own_claims() == 0  # the earlier life's row is not a claim on this one


def test_a_board_with_no_slot_in_a_full_table_refuses_at_the_call():
    # It heard the fleet before it wrote: every slot is another board's, so
    # its first write could never be committed; it must not pile up unseen.
    n, _ = node(max_nodes=2)
    for name in ("b", "c"):
        other = GossipNode(name, KEY, max_nodes=2)
        other.record_satisfied(1)
        f = bytearray(ping(other))
        n.process(f, len(f))
    assert len(n.state.nodes()) == 2
    for op in (lambda: n.record_satisfied(1), lambda: n.add_constraint("x"),
               lambda: n.update_position((1, 0))):
        e = raises(CapacityError, op)
        assert "none of them this board's" in str(e)
    assert n.refused_ops == 3 and not n.pending and n.counts == [0, 0]
    n.commit()
    assert n.held_ops == 0 and n.own_counts() == (0, 0)


def test_a_full_table_says_which_names_hold_several_slots():
    # Three lives of a reflashed board and one other board fill the table.
    n, _ = node(max_nodes=4)
    for name, inc in (("b", 1), ("b", 2), ("c", 0), ("b", 3)):
        other = GossipNode(name, KEY, state=ConstraintState(name, 4, 64, inc))
        other.record_satisfied(1)
        f = bytearray(ping(other))
        n.process(f, len(f))
    assert n.state.node_table.repeated() == [("b", 3)]
    e = raises(CapacityError, n.record_satisfied, 1)
    assert "names with several slots: b 3" in str(e)
    assert n.status_values()["repeated"] == 3

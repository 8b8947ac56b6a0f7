"""The monitor (a host tool) takes each STATUS frame once: a recorded one
sent again moves nothing, however old."""
from monitor import Monitor

from ccrdt.gossip import GossipNode
from ccrdt.proto import REPLAYED
from ccrdt.status import FIELDS as STATUS_FIELDS
from ccrdt.status import write

KEY = bytes(range(16))


def status(node, values, name=b"n1"):
    buf = bytearray(250)
    return bytes(buf[:write(node.framer, buf, values, name)])


def values(rx):
    v = dict.fromkeys(STATUS_FIELDS, 0)
    v.update(rx=rx, rejected_by=[])
    return v


def test_a_replayed_status_moves_nothing():
    n1 = GossipNode("n1", KEY)
    early, late = status(n1, values(5)), status(n1, values(11))
    mon = Monitor(KEY)
    mon.take(early, "a")
    mon.take(late, "a")
    seen = mon.nodes[n1.state.tag]["seen"]
    mon.take(early, "an outsider")  # the old report again: counters would roll back
    mon.take(late, "an outsider")
    s = mon.nodes[n1.state.tag]
    assert s["rx"] == 11 and s["seen"] == seen  # not revived, not rolled back
    assert mon.refused == 2 and "replayed" in mon.last_refusal
    assert REPLAYED == 10


def test_a_full_node_table_says_how_much_of_it_earlier_lives_hold():
    n1 = GossipNode("n1", KEY)
    mon = Monitor(KEY)
    v = values(1)
    v.update(nodes=16, max_nodes=16, max_constraints=64, repeated=9)
    mon.datagram_received(status(n1, v), ("127.0.0.1", 1))
    assert "n1: node table full (16), 9 of its slots held by names with several" in mon.line()
    v.update(rx=2, nodes=12, repeated=4)  # not full: the column says it
    mon.datagram_received(status(n1, v), ("127.0.0.1", 1))
    assert mon.named()["n1"]["repeated"] == 4 and "node table full" not in mon.line()

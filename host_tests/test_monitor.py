"""The monitor (a host tool) takes each STATUS frame once: a recorded one
sent again moves nothing, however old."""
from monitor import Monitor

from ccrdt.gossip import GossipNode
from ccrdt.proto import REPLAYED
from ccrdt.status import write

KEY = bytes(range(16))


def status(node, values, name=b"n1"):
    buf = bytearray(250)
    return bytes(buf[:write(node.framer, buf, values, name)])


def values(rx):
    v = dict.fromkeys(("hash", "constraints", "nodes", "satisfied", "violations",
                       "own_satisfied", "own_violations", "tx", "tx_bytes", "rejected",
                       "dropped", "errors", "uptime_ms", "heap_free", "heap_used", "flags",
                       "uptime_s", "max_nodes", "max_constraints", "refused_ops", "held_ops",
                       "clashes", "own_claims", "skipped", "withheld", "epoch"), 0)
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

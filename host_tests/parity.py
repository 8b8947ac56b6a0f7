"""Prints what seeded histories produce, for byte-for-byte comparison across
interpreters: state hashes, slice hashes, snapshots and the frames of an
exchange.  The same text must come out of CPython, the 64-bit and the 32-bit
MicroPython and the RV32 board (``test_parity.py``).

Besides random histories, the extremes a 32-bit port gets wrong: counters
past 2**30, 2**31 and 2**32 and at the largest value allowed (just under
3 * 2**62), negative and extreme positions, the longest ids and names.

    python3 host_tests/parity.py          (from the repository root)
    micropython host_tests/parity.py
"""
import sys

sys.path[:0] = ["firmware", "host_tests"]

from binascii import hexlify  # noqa: E402

from ccrdt.gossip import GossipNode  # noqa: E402
from ccrdt.layout import ROW_LIMIT  # noqa: E402
from ccrdt.state import ConstraintState  # noqa: E402
from check import Rng  # noqa: E402
from histories import replicas  # noqa: E402
from drive import introduce, ping, receive  # noqa: E402

KEY = bytes(range(16))


def show(label, data):
    print(label, hexlify(data).decode())


def extremes():
    """Nodes whose rows sit at the values a word size can get wrong."""
    amounts = (2 ** 30 - 1, 2 ** 30, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 33 + 5,
               ROW_LIMIT - 1)
    names = ["sixteen-bytes-%02d" % i for i in range(len(amounts))]
    nodes = [ConstraintState(n[:16], max_nodes=1, max_constraints=1) for n in names]
    for i, (node, n) in enumerate(zip(nodes, amounts)):
        node.record_satisfied(n)
        node.record_violations(amounts[-1 - i])
        node.add_constraint(("id-of-16-bytes%02d" % i)[:16])
        node.update_position((-(2 ** 31) + i, 2 ** 31 - 1 - i))
    nodes[0].update_position((-3, -5))
    return nodes


def hub_of(states):
    """A node holding all of states (the largest of its 16 x 16 tables)."""
    hub = GossipNode("hub-of-extremes", KEY, max_nodes=16, max_constraints=16)
    hub.boot = 1  # random per boot on a board: fixed here, since PINGs carry it
    for st in states:
        hub.state.merge(st)
    return hub


def main():
    for seed in range(4):
        for i, r in enumerate(replicas(Rng(seed))):
            print("seed", seed, "replica", i, "hash %08x" % r.state_hash())
            show("slices", r.slice_hashes())
            show("snapshot", r.encode())
    hub = hub_of(extremes())
    print("extremes hash %08x" % hub.state_hash())
    show("extremes snapshot", hub.state.encode())
    print("totals", hub.state.metrics.total_satisfied(), hub.state.metrics.total_violations())
    # Frames of one exchange between the hub and an empty node, in order.
    peer = GossipNode("peer", KEY, max_nodes=16, max_constraints=16)
    peer.boot = 2
    introduce(hub, peer)  # boards in range; and each has pinged the other once,
    receive(hub, ping(peer, hub.state.tag))  # so neither's answers are bounded
    queue = [(peer, ping(hub, peer.state.tag))]
    while queue:
        to, f = queue.pop(0)
        show("frame", f)
        back = hub if to is peer else peer
        for r in receive(to, f).responses:
            queue.append((back, r))
    print("peer hash %08x" % peer.state_hash(), "equal", peer.state == hub.state)


main()

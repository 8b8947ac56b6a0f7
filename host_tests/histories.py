"""States built for tests and benchmarks: random operation histories on a
few replicas and a node whose tables are full."""
from ccrdt.state import ConstraintState


def replicas(rng, nodes=3, steps=40, max_nodes=8, max_constraints=24):
    """Replicas of the whole state that each applied local ops and
    sometimes merged a peer (the harness's history of ``specs.StateSpec``)."""
    # Imported here: benchmarks on the board use full_node() alone, and the
    # harness's modules would take their heap.
    from laws import history
    from specs import StateSpec
    return history(StateSpec(max_nodes, max_constraints), rng, nodes, steps)[0]


def full_node(name, key, nodes=32, constraints=64, longest=False):
    """A GossipNode whose state is full: every node added its share of the
    constraints and counted checks.  longest: 16-byte names and ids and
    counters near 2**64, the worst case for frame sizes."""
    from ccrdt.gossip import GossipNode  # only here: law tests need no gossip code
    n = GossipNode(name, key)
    per = constraints // nodes
    for i in range(nodes):
        node_name = ("node-%02d-longname" if longest else "node-%02d") % i
        h = n.state if i == 0 else ConstraintState(node_name, max_nodes=2, max_constraints=per)
        for j in range(per):
            h.add_constraint(("c%02d-%d-0123456789" if longest else "c%02d-%d") % (i, j))
        h.record_satisfied((2 ** 63 if longest else 1000) + i)
        h.record_violations((2 ** 40 if longest else 0) + i)
        if h is not n.state:
            n.state.merge(h)
    if longest:
        n.update_position((-2 ** 31, 2 ** 31 - 1))
    return n

"""States built for tests and benchmarks: random operation histories on a
few replicas (the law tests) and a node whose tables are full."""
from ccrdt.gossip import GossipNode
from ccrdt.state import ConstraintState

IDS = ["c%d" % i for i in range(12)] + ["ab", "a", "bc", "c"]


def replicas(rng, nodes=3, steps=40, max_nodes=8, max_constraints=24):
    """Replicas that each applied local ops and sometimes merged a peer."""
    reps = [ConstraintState("n%d" % i, max_nodes=max_nodes, max_constraints=max_constraints)
            for i in range(nodes)]
    for _ in range(steps):
        r = reps[rng.below(nodes)]
        op = rng.below(10)
        if op < 3:
            r.add_constraint(rng.choice(IDS))
        elif op < 5:
            r.remove_constraint(rng.choice(IDS))
        elif op == 5:
            r.record_satisfied(rng.below(1000))
        elif op == 6:
            r.record_violations(rng.below(50))
        elif op == 7:
            r.update_position((rng.below(7) - 3, rng.below(7) - 3))
        else:
            r.merge(reps[rng.below(nodes)])
    return reps


def full_node(name, key, nodes=32, constraints=64, longest=False):
    """A GossipNode whose state is full: every node added its share of the
    constraints and counted checks.  longest: 16-byte names and ids and
    counters near 2**64, the worst case for frame sizes."""
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

"""Random operation histories on a few replicas, shared by the law tests."""
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

"""The state against a model of what it should hold after a history.

The laws (test_laws) say that merging converges; they would also hold for a
join that converged on the wrong value (remove-wins, a max where a sum is
meant).  Here seeded histories run on replicas and, beside them, on a plain
model of each replicated type, and every merge order of the replicas must
hold what the model says:

* add-wins set: every add makes a new token; a remove (and an add, which
  supersedes what its replica saw) retires the tokens of that id its
  replica has seen; a merge keeps a token unless a replica that saw it
  retired it.  An id is in the set while one of its tokens lives.
* G-counters: each node's count is the sum of its increments.
* position register: the lowest norm proposed and accepted anywhere wins.

Runs on CPython and both MicroPythons (hypothesis drives more histories in
test_props.py).
"""
from check import Rng
from ccrdt.register import norm
from ccrdt.state import ConstraintState

IDS = ["c0", "c1", "c2", "ab", "a", "b"]


class Model:
    """One replica of the model: tokens seen and tokens live, per id."""

    def __init__(self, name):
        self.name = name
        self.seen = set()
        self.live = {}  # id -> set of live tokens
        self.sat = {}  # node -> sum of its increments
        self.vio = {}
        self.norms = []  # norms of the positions this replica accepted or merged
        self.n = 0

    def add(self, cid):
        self.n += 1
        token = (self.name, self.n)
        self.seen.add(token)
        self.live[cid] = {token}

    def remove(self, cid):
        self.live[cid] = set()

    def count(self, table, k):
        table[self.name] = table.get(self.name, 0) + k

    def merge(self, other):
        for cid in set(self.live) | set(other.live):
            mine, theirs = self.live.get(cid, set()), other.live.get(cid, set())
            self.live[cid] = (set(t for t in mine if t in theirs or t not in other.seen)
                              | set(t for t in theirs if t not in self.seen))
        self.seen |= other.seen
        for mine, theirs in ((self.sat, other.sat), (self.vio, other.vio)):
            for k, v in theirs.items():
                mine[k] = max(mine.get(k, 0), v)
        self.norms = self.norms + other.norms

    def members(self):
        return sorted(c for c, tokens in self.live.items() if tokens)


def history(rng, nodes=4, steps=60):
    reps = [ConstraintState("n%d" % i, max_nodes=8, max_constraints=16) for i in range(nodes)]
    models = [Model("n%d" % i) for i in range(nodes)]
    for _ in range(steps):
        i = rng.below(nodes)
        r, m = reps[i], models[i]
        op = rng.below(8)
        if op < 3:
            cid = rng.choice(IDS)
            r.add_constraint(cid)
            m.add(cid)
        elif op < 5:
            cid = rng.choice(IDS)
            r.remove_constraint(cid)
            m.remove(cid)
        elif op == 5:
            k = rng.below(100)
            r.record_satisfied(k)
            m.count(m.sat, k)
            r.record_violations(k % 7)
            m.count(m.vio, k % 7)
        elif op == 6:
            pos = (rng.below(9) - 4, rng.below(9) - 4)
            if r.update_position(pos):
                m.norms.append(norm(*pos))
        else:
            j = rng.below(nodes)
            r.merge(reps[j])
            m.merge(models[j])
    return reps, models


def check_against_model(rep, model):
    assert rep.constraints.active_constraints() == model.members(), (
        "set %s, model %s" % (rep.constraints.active_constraints(), model.members()))
    for table, get in ((model.sat, rep.metrics.node_satisfied), (model.vio, rep.metrics.node_violations)):
        for node, v in table.items():
            assert get(node) == v, "%s counted %d, model %d" % (node, get(node), v)
    assert rep.metrics.total_satisfied() == sum(model.sat.values())
    if model.norms:
        assert rep.position.norm == min(model.norms)
    else:
        assert rep.position.position is None


def test_every_merge_order_holds_what_the_model_says():
    for seed in range(40):
        reps, models = history(Rng(seed))
        n = len(reps)
        for start in range(n):
            for step in (1, n - 1):  # forwards and backwards around the ring
                acc, m = reps[start].copy(), Model("all")
                m.merge(models[start])
                for k in range(1, n):
                    j = (start + k * step) % n
                    acc.merge(reps[j])
                    m.merge(models[j])
                check_against_model(acc, m)


def test_each_replica_holds_what_its_model_says():
    for seed in range(40, 60):
        reps, models = history(Rng(seed))
        for r, m in zip(reps, models):
            check_against_model(r, m)

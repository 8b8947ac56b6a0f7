"""The specs of the replicated types for the harness in ``laws.py``, with
plain models of what each should hold after a history:

* add-wins set: every add makes a new token; a remove (and an add, which
  supersedes what its replica saw) retires the tokens of that id its
  replica has seen; a merge keeps a token unless a replica that saw it
  retired it.  An id is in the set while one of its tokens lives.
* G-counters (satisfied, violations, operations; the vector clock): each
  node's count is the sum of its own increments, a replica holds the
  largest prefix of them it has seen.
* position register: the lowest norm proposed and accepted anywhere wins.

The set, the counters and the register are checked through a state whose
history only holds their operations (each compared on its own part), and
together as the whole state, snapshots and digest included.
"""
from content import counters_content, register_content, set_content
from ccrdt.register import norm
from ccrdt.state import ConstraintState
from ccrdt.vclock import VectorClock
from ccrdt.restore import decode_state

IDS = ["c%d" % i for i in range(12)] + ["ab", "a", "bc", "c"]


def _name(i):
    return "n%d" % i


def _merge_max(mine, theirs):
    for k, v in theirs.items():
        mine[k] = max(mine.get(k, 0), v)


class SetModel:
    def __init__(self, i):
        self.name = _name(i)
        self.seen = set()
        self.live = {}  # id -> set of live tokens
        self.n = 0

    def apply(self, op, got):
        kind, arg = op
        if kind == "add":
            self.n += 1
            token = (self.name, self.n)
            self.seen.add(token)
            self.live[arg] = {token}
        elif kind == "remove":
            assert got == bool(self.live.get(arg)), "remove of %s answered %s" % (arg, got)
            self.live[arg] = set()

    def merge(self, other):
        for cid in set(self.live) | set(other.live):
            mine, theirs = self.live.get(cid, set()), other.live.get(cid, set())
            self.live[cid] = (set(t for t in mine if t in theirs or t not in other.seen)
                              | set(t for t in theirs if t not in self.seen))
        self.seen |= other.seen

    def check(self, x):
        want = sorted(c for c, tokens in self.live.items() if tokens)
        got = x.constraints.active_constraints()
        assert got == want, "set %s, model %s" % (got, want)


class CountModel:
    """Satisfied, violations and operations per node."""

    def __init__(self, i):
        self.name = _name(i)
        self.sat, self.vio, self.ops = {}, {}, {}

    def apply(self, op, got):
        kind, arg = op
        table = {"sat": self.sat, "vio": self.vio}.get(kind)
        if table is not None:
            table[self.name] = table.get(self.name, 0) + arg
        if got is not False:  # a remove of an absent id or a losing position is no operation
            self.ops[self.name] = self.ops.get(self.name, 0) + 1

    def merge(self, other):
        for mine, theirs in ((self.sat, other.sat), (self.vio, other.vio), (self.ops, other.ops)):
            _merge_max(mine, theirs)

    def check(self, x):
        m, clock = x.metrics, x.clock()
        for node, v in self.sat.items():
            assert m.node_satisfied(node) == v, "%s satisfied %d, model %d" % (
                node, m.node_satisfied(node), v)
        for node, v in self.vio.items():
            assert m.node_violations(node) == v, "%s violations %d, model %d" % (
                node, m.node_violations(node), v)
        assert m.total_satisfied() == sum(self.sat.values())
        assert m.total_violations() == sum(self.vio.values())
        for node, v in self.ops.items():
            assert clock.get(node) == v, "%s operations %d, model %d" % (node, clock.get(node), v)
        assert clock.total_time() == sum(self.ops.values())


class PositionModel:
    def __init__(self, i):
        self.norms = []  # norms of the positions this replica accepted or merged

    def apply(self, op, got):
        if op[0] == "pos" and got:
            self.norms.append(norm(*op[1]))

    def merge(self, other):
        self.norms = self.norms + other.norms

    def check(self, x):
        if self.norms:
            assert x.position.norm == min(self.norms), "norm %s, model %d" % (
                x.position.norm, min(self.norms))
        else:
            assert x.position.position is None


class Models:
    """Several models side by side, for a type made of several."""

    def __init__(self, parts):
        self.parts = parts

    def apply(self, op, got):
        for p in self.parts:
            p.apply(op, got)

    def merge(self, other):
        for p, q in zip(self.parts, other.parts):
            p.merge(q)

    def check(self, x):
        for p in self.parts:
            p.check(x)


class StateSpec:
    """The whole constraint state."""
    name = "state"

    def __init__(self, max_nodes=8, max_constraints=24):
        self.max_nodes, self.max_constraints = max_nodes, max_constraints

    def new(self, i):
        return ConstraintState(_name(i), max_nodes=self.max_nodes,
                               max_constraints=self.max_constraints)

    # A weighted draw of the next step's kind (None: a merge).
    OPS = ("add", "add", "add", "remove", "remove", "sat", "vio", "pos", None, None)

    def op(self, rng):
        kind = rng.choice(self.OPS)
        if kind in ("add", "remove"):
            return (kind, rng.choice(IDS))
        if kind == "sat":
            return (kind, rng.below(1000))
        if kind == "vio":
            return (kind, rng.below(50))
        if kind == "pos":
            return (kind, (rng.below(7) - 3, rng.below(7) - 3))
        return None

    def apply(self, x, i, op):
        kind, arg = op
        if kind == "add":
            return x.add_constraint(arg)
        if kind == "remove":
            return x.remove_constraint(arg)
        if kind == "sat":
            return x.record_satisfied(arg)
        if kind == "vio":
            return x.record_violations(arg)
        return x.update_position(arg)

    def merge(self, x, y):
        x.merge(y)

    def copy(self, x):
        return x.copy()

    def equal(self, x, y):
        return x == y

    def digest(self, x):
        return x.state_hash()

    def encode(self, x):
        return x.encode()

    def decode(self, data, like):
        return decode_state(data, like.node_id)

    def model(self, i):
        return Models([SetModel(i), CountModel(i), PositionModel(i)])


class _PartSpec(StateSpec):
    """One type of the state: a history of its own operations, compared on
    its own part (the others' digests would differ by operation counts)."""
    digest = encode = None

    def __init__(self, max_nodes=4, max_constraints=16):  # 4 replicas: small board heap
        StateSpec.__init__(self, max_nodes, max_constraints)


class SetSpec(_PartSpec):
    name = "add-wins set"
    OPS = ("add", "add", "remove", None)

    def equal(self, x, y):
        return set_content(x.constraints) == set_content(y.constraints)

    model = SetModel


class CounterSpec(_PartSpec):
    name = "counters"
    OPS = ("sat", "vio", None)

    def equal(self, x, y):
        return counters_content(x.metrics) == counters_content(y.metrics)

    model = CountModel


class RegisterSpec(_PartSpec):
    name = "position register"
    OPS = ("pos", "pos", None)

    def equal(self, x, y):
        return register_content(x.position) == register_content(y.position)

    model = PositionModel


class ClockModel:
    def __init__(self, i):
        self.name = _name(i)
        self.t = {}

    def apply(self, op, got):
        self.t[self.name] = self.t.get(self.name, 0) + 1
        assert got == self.t[self.name]

    def merge(self, other):
        _merge_max(self.t, other.t)

    def check(self, c):
        for node, v in self.t.items():
            assert c.get(node) == v, "%s at %d, model %d" % (node, c.get(node), v)
        assert c.node_count() == len(self.t) and c.total_time() == sum(self.t.values())


class ClockSpec:
    name = "vector clock"
    digest = encode = None
    model = ClockModel

    def new(self, i):
        return VectorClock(capacity=8)

    def op(self, rng):
        return None if rng.below(3) == 0 else ("inc", None)

    def apply(self, x, i, op):
        return x.increment(_name(i))

    def merge(self, x, y):
        x.merge(y)

    def copy(self, x):
        c = VectorClock(capacity=8)
        c.merge(x)
        return c

    def equal(self, x, y):
        return x == y


SPECS = [StateSpec(), SetSpec(), CounterSpec(), RegisterSpec(), ClockSpec()]

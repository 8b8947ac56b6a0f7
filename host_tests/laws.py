"""One law-and-model harness that every replicated type's tests plug into.

A type is described by a spec (``specs.py``): ``new(i)`` (replica i, empty),
``op(rng)`` (a random local operation, or None for a merge), ``apply(x, i,
op)``, ``merge(x, y)`` (in place), ``copy``, ``equal``, and optionally
``digest`` (equal content must give equal digests), ``encode``/``decode``
and ``model(i)``: a plain model of what replica i should hold, with
``apply(op, result)``, ``merge(other)`` and ``check(x)``.  ``check_type``
runs one random history through every check.  The laws alone would hold
for a join that converged on the wrong value (remove-wins, a max where a
sum is meant); the model catches those.

The generator is anything with ``below(n)`` and ``choice(seq)``: the seeded
``check.Rng`` on every interpreter, ``ChoiceRng`` under hypothesis.
"""
import gc


class ChoiceRng:
    """Draws from a list of ints (a hypothesis example), then zeros: the
    same histories as a seeded run, and hypothesis can shrink them."""

    def __init__(self, draws):
        self.draws = draws
        self.i = 0

    def below(self, n):
        v = self.draws[self.i] if self.i < len(self.draws) else 0
        self.i += 1
        return v % n

    def choice(self, seq):
        return seq[self.below(len(seq))]


def history(spec, rng, nodes=3, steps=40):
    """Replicas and their models (None without one) after a random history:
    each step a local operation of one replica or a merge of another into it."""
    reps = [spec.new(i) for i in range(nodes)]
    models = [spec.model(i) for i in range(nodes)] if spec.model else None
    for _ in range(steps):
        i = rng.below(nodes)
        op = spec.op(rng)
        if op is None:
            j = rng.below(nodes)
            spec.merge(reps[i], reps[j])
            if models:
                models[i].merge(models[j])
        else:
            got = spec.apply(reps[i], i, op)
            if models:
                models[i].apply(op, got)
    return reps, models


def join(spec, x, y):
    z = spec.copy(x)
    spec.merge(z, y)
    return z


def _same(spec, x, y, what):
    assert spec.equal(x, y), "%s: %s broken:\n  %s\n  %s" % (spec.name, what, x, y)
    if spec.digest:
        assert spec.digest(x) == spec.digest(y), "%s: %s: equal content, different digest" % (
            spec.name, what)


def check_laws(spec, a, b, c):
    _same(spec, join(spec, a, b), join(spec, b, a), "commutativity")
    _same(spec, join(spec, join(spec, a, b), c), join(spec, a, join(spec, b, c)), "associativity")
    _same(spec, join(spec, a, a), a, "idempotence")
    _same(spec, join(spec, a, join(spec, a, b)), join(spec, a, b), "absorption")


def check_merge_orders(spec, reps, models=None):
    """Every merge order of the replicas (forwards and backwards around the
    ring from each start) ends in the same value, and in what the merged
    models say.  Each result is compared with the first as it is made, so
    only two are held at a time (a small board's heap holds the test too)."""
    n = len(reps)
    want = None
    if models:
        want = spec.model(0)
        for m in models:
            want.merge(m)
    first = None
    for start in range(n):
        for step in (1, n - 1):
            acc = spec.copy(reps[start])
            for k in range(1, n):
                spec.merge(acc, reps[(start + k * step) % n])
            if want is not None:
                want.check(acc)
            if first is None:
                first = acc
            else:
                _same(spec, acc, first, "merge order changed the result")


def check_type(spec, rng, nodes=3, steps=40):
    """One history of spec's type through every check it supports."""
    gc.collect()  # the last history's states go first: a small board's heap fragments
    reps, models = history(spec, rng, nodes, steps)
    if models:
        for r, m in zip(reps, models):
            m.check(r)
    check_laws(spec, reps[0], reps[1 % nodes], reps[2 % nodes])
    check_merge_orders(spec, reps, models)
    if spec.encode:
        for r in reps:
            _same(spec, spec.decode(spec.encode(r), r), r, "encode/decode")

"""One semilattice law checker that every replicated type's tests call.

join(a, b) returns a new value; eq compares content.  The checker also asks
that equal content hashes equal when a hash function is given.
"""


def check_laws(a, b, c, join, eq, digest=None):
    def same(x, y, law):
        assert eq(x, y), "%s broken:\n  %s\n  %s" % (law, x, y)
        if digest is not None:
            assert digest(x) == digest(y), "%s: equal content, different hash" % law

    same(join(a, b), join(b, a), "commutativity")
    same(join(join(a, b), c), join(a, join(b, c)), "associativity")
    same(join(a, a), a, "idempotence")
    same(join(a, join(a, b)), join(a, b), "absorption")


def check_convergence(replicas, join, eq, digest=None):
    """Every merge order of the replicas (forwards and backwards around the
    ring from each start) ends in the same value.  Each result is compared
    with the first as it is made, so only two are held at a time (a small
    board's heap holds the test too)."""
    n = len(replicas)
    first = None
    for start in range(n):
        for step in (1, n - 1):
            acc = replicas[start]
            for k in range(1, n):
                acc = join(acc, replicas[(start + k * step) % n])
            if first is None:
                first = acc
                continue
            assert eq(acc, first), "merge order changed the result:\n  %s\n  %s" % (acc, first)
            if digest is not None:
                assert digest(acc) == digest(first)

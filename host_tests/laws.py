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
    """Every merge order of the replicas ends in the same value."""
    n = len(replicas)
    results = []
    for start in range(n):
        acc = replicas[start]
        for k in range(1, n):
            acc = join(acc, replicas[(start + k) % n])
        results.append(acc)
        acc = replicas[(start - 0) % n]
        for k in range(n - 1, 0, -1):
            acc = join(acc, replicas[(start + k) % n])
        results.append(acc)
    for r in results[1:]:
        assert eq(r, results[0]), "merge order changed the result:\n  %s\n  %s" % (r, results[0])
        if digest is not None:
            assert digest(r) == digest(results[0])

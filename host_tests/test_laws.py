"""Semilattice laws of the whole state over seeded random histories.

Runs on both interpreters (the xorshift generator replays the same
histories); hypothesis drives more of them on CPython in test_props.py.
"""
from check import Rng
from histories import replicas
from laws import check_convergence, check_laws


def join(x, y):
    return x.merged(y)


def eq(x, y):
    return x == y


def digest(x):
    return x.state_hash()


def test_merge_laws_on_random_histories():
    for seed in range(12):
        a, b, c = replicas(Rng(seed))
        check_laws(a, b, c, join, eq, digest)


def test_every_merge_order_converges():
    for seed in range(100, 108):
        check_convergence(replicas(Rng(seed), nodes=4), join, eq, digest)


def test_hash_equality_matches_content_equality():
    seen = {}
    for seed in range(200, 230):
        for r in replicas(Rng(seed), steps=12):
            h = r.state_hash()
            content = r.canonical()
            if h in seen:
                assert seen[h] == content, "hash collision between different contents"
            seen[h] = content

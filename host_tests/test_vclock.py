from check import raises

from ccrdt import CapacityError
from ccrdt.vclock import AFTER, BEFORE, CONCURRENT, EQUAL, VectorClock


def test_increment_and_get():
    c = VectorClock()
    assert c.increment("a") == 1
    assert c.increment("a") == 2
    assert c.increment("b") == 1
    assert c.get("a") == 2 and c.get("b") == 1 and c.get("zz") == 0
    assert c.node_count() == 2 and c.total_time() == 3


def test_orderings():
    a, b = VectorClock(), VectorClock()
    assert a.compare(b) == EQUAL and a == b
    a.increment("a")
    assert a.compare(b) == AFTER and b.compare(a) == BEFORE
    assert b.happened_before_or_equal(a) and not a.happened_before_or_equal(b)
    b.increment("b")
    assert a.compare(b) == CONCURRENT and a.is_concurrent(b)
    a.merge(b)
    assert a.compare(b) == AFTER and b.happened_before_or_equal(a)
    b.merge(a)
    assert a == b and a.compare(b) == EQUAL


def test_merge_is_elementwise_max():
    a, b = VectorClock(), VectorClock()
    for _ in range(3):
        a.increment("x")
    b.increment("x")
    for _ in range(5):
        b.increment("y")
    a.merge(b)
    assert a.get("x") == 3 and a.get("y") == 5 and a.total_time() == 8


def test_full_clock_raises_and_is_unchanged():
    a, b = VectorClock(capacity=2), VectorClock(capacity=4)
    a.increment("a")
    a.increment("b")
    e = raises(CapacityError, a.increment, "c")
    assert "full" in str(e)
    b.increment("c")
    b.increment("d")
    raises(CapacityError, a.merge, b)
    assert a.get("c") == 0 and a.total_time() == 2


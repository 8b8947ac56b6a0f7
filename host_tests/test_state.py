"""The seed crate's state scenarios, and the checks of a full table and bad ids."""
from check import raises
from content import content

from ccrdt import CapacityError
from ccrdt.layout import ID_MAX
from ccrdt.state import COUNTER_LIMIT, ROW_LIMIT, ConstraintState
from ccrdt.restore import decode_state


def small(name):
    return ConstraintState(name, max_nodes=8, max_constraints=16)


def test_empty_state():
    s = small("a")
    assert s.active_constraint_count() == 0
    assert s.satisfaction_rate() == 1.0
    assert s.metrics.total_satisfied() == 0 and s.position.position is None
    assert s == small("b") and s.state_hash() == small("b").state_hash()


def test_two_node_merge_totals():
    a, b = small("a"), small("b")
    a.record_satisfied(100)
    a.record_violations(3)
    b.record_satisfied(50)
    b.record_violations(7)
    m = a.merged(b)
    assert m.metrics.total_satisfied() == 150
    assert m.metrics.total_violations() == 10
    assert m.metrics.node_satisfied("a") == 100 and m.metrics.node_violations("b") == 7
    assert abs(m.satisfaction_rate() - 150 / 160) < 1e-9
    assert m.merged(b) == m  # merging again adds nothing


def test_add_and_remove():
    a = small("a")
    a.add_constraint("c1")
    a.add_constraint("c2")
    assert a.constraints.contains("c1") and a.active_constraint_count() == 2
    assert a.remove_constraint("c1") is True
    assert not a.constraints.contains("c1") and a.active_constraint_count() == 1
    assert a.remove_constraint("c1") is False
    assert a.constraints.active_constraints() == ["c2"]


def test_remove_propagates_to_observers():
    a, b = small("a"), small("b")
    a.add_constraint("c1")
    b.merge(a)
    b.remove_constraint("c1")
    a.merge(b)
    assert not a.constraints.contains("c1") and a == b


def test_add_wins_over_concurrent_remove():
    a, b = small("a"), small("b")
    a.add_constraint("c1")
    b.merge(a)
    a.remove_constraint("c1")
    b.add_constraint("c1")  # concurrent re-add: a new dot a has not seen
    assert a.merged(b).constraints.contains("c1")
    assert b.merged(a).constraints.contains("c1")


def test_readd_after_remove():
    a = small("a")
    a.add_constraint("c1")
    a.remove_constraint("c1")
    a.add_constraint("c1")
    assert a.constraints.contains("c1")


def test_removed_constraints_leave_no_tombstone():
    a = small("a")
    for i in range(200):  # far more adds than the table holds
        a.add_constraint("t%d" % (i % 5))
        a.remove_constraint("t%d" % (i % 5))
    assert a.active_constraint_count() == 0
    for i in range(16):
        a.add_constraint("k%d" % i)  # the whole table is still free
    assert a.active_constraint_count() == 16


def test_satisfaction_rate():
    a = small("a")
    a.record_satisfied(3)
    a.record_violations(1)
    assert a.satisfaction_rate() == 0.75


def test_position_lowest_norm_wins_and_ties_are_deterministic():
    a, b = small("a"), small("b")
    assert a.update_position((2, 0))  # norm 4
    assert b.update_position((1, 1))  # norm 1
    assert a.merged(b).position.position == (1, 1)
    assert a.merged(b).position.norm == 1
    assert not b.update_position((5, 0))  # a higher norm loses at once
    c, d = small("c"), small("d")
    c.update_position((1, 0))  # norm 1 at clock 1
    d.update_position((0, 1))  # norm 1 at clock 1: writer tag decides
    assert c.merged(d).position.position == d.merged(c).position.position
    c2 = c.merged(d)
    c2.update_position((-1, 0))  # same norm, later clock: wins
    assert c2.merged(d).position.position == (-1, 0)


def test_hash_distinguishes_the_seed_collisions():
    # Seed defect 1: totals only -> {a:100} and {b:100} hashed equal.
    a, b = small("x"), small("y")
    a1, b1 = small("a"), small("b")
    a1.record_satisfied(100)
    b1.record_satisfied(100)
    a.merge(a1)
    b.merge(b1)
    assert a != b and a.state_hash() != b.state_hash()
    # Seed defect 1: names concatenated -> "ab"+"c" and "a"+"bc" hashed equal.
    p, q = small("p"), small("p")
    p.add_constraint("ab")
    p.add_constraint("c")
    q.add_constraint("a")
    q.add_constraint("bc")
    assert p != q and p.state_hash() != q.state_hash()


def test_hash_and_equality_ignore_which_node_holds_the_state():
    a, b = small("a"), small("b")
    a.add_constraint("c1")
    b.merge(a)
    assert a == b and a.state_hash() == b.state_hash()
    b.record_satisfied(1)
    assert a != b and a.state_hash() != b.state_hash()


def test_counters_stop_below_the_top_quarter_of_u64():
    a = small("a")
    a.record_satisfied(ROW_LIMIT - 2)
    a.record_satisfied(1)
    before = a.encode()
    raises(OverflowError, a.record_satisfied, 1)
    assert a.encode() == before
    assert a.metrics.total_satisfied() == ROW_LIMIT - 1
    b = small("b")
    b.merge(a)
    assert b.metrics.node_satisfied("a") == ROW_LIMIT - 1
    raises(ValueError, a.record_violations, -1)
    raises(TypeError, a.record_violations, 1.5)


def test_bad_ids():
    a = small("a")
    raises(TypeError, a.add_constraint, 42)
    raises(TypeError, a.add_constraint, b"c1")
    raises(ValueError, a.add_constraint, "")
    raises(ValueError, a.add_constraint, "x" * (ID_MAX + 1))
    raises(TypeError, ConstraintState, None)
    raises(ValueError, a.update_position, (2 ** 40, 0))
    assert a.active_constraint_count() == 0 and a == small("a")


def test_full_constraint_table_raises_and_state_is_unchanged():
    a = ConstraintState("a", max_nodes=4, max_constraints=3)
    for c in ("x", "y", "z"):
        a.add_constraint(c)
    before = a.encode()
    e = raises(CapacityError, a.add_constraint, "w")
    assert "full" in str(e)
    assert a.encode() == before
    b = ConstraintState("b", max_nodes=4, max_constraints=3)
    b.add_constraint("w")
    raises(CapacityError, a.merge, b)
    assert a.encode() == before


def test_full_node_table_raises_and_state_is_unchanged():
    a = ConstraintState("a", max_nodes=2, max_constraints=4)
    b = ConstraintState("b", max_nodes=2, max_constraints=4)
    c = ConstraintState("c", max_nodes=2, max_constraints=4)
    a.record_satisfied(1)  # a takes its own slot when it first writes
    b.record_satisfied(1)
    c.record_satisfied(1)
    a.merge(b)
    before = a.encode()
    raises(CapacityError, a.merge, c)
    assert a.encode() == before


def test_a_replica_takes_a_slot_only_when_it_first_writes():
    others = [ConstraintState("n%d" % i, max_nodes=2, max_constraints=4) for i in range(2)]
    for o in others:
        o.record_satisfied(1)
    passive = ConstraintState("monitor", max_nodes=2, max_constraints=4)
    for o in others:
        passive.merge(o)  # a listener holds the whole fleet of max_nodes
    assert passive.metrics.total_satisfied() == 2
    before = passive.encode()
    raises(CapacityError, passive.record_satisfied, 1)  # no slot left for its own row
    raises(CapacityError, passive.add_constraint, "c1")
    assert passive.encode() == before


def test_snapshot_round_trip_and_corruption():
    a = small("a")
    a.add_constraint("c1")
    a.record_satisfied(5)
    a.update_position((1, 2))
    snap = a.encode()
    b = decode_state(snap, "a")
    assert b == a and b.state_hash() == a.state_hash()
    b.record_satisfied(1)  # keeps counting from the restored value
    assert b.metrics.node_satisfied("a") == 6
    raises(ValueError, decode_state, snap[:-1], "a")
    raises(ValueError, decode_state, b"", "a")
    bad = bytearray(snap)
    bad[len(bad) // 2] ^= 0x40
    raises(ValueError, decode_state, bytes(bad), "a")


def test_str_is_readable():
    a = small("forgemaster")
    a.add_constraint("c1")
    s = str(a)
    assert "forgemaster" in s and "1 constraints" in s


def test_clock_counts_local_operations_and_merges():
    from ccrdt.vclock import AFTER, CONCURRENT
    a, b = small("a"), small("b")
    a.add_constraint("c1")
    a.record_satisfied(2)
    b.record_violations(1)
    assert a.clock().get("a") == 2 and a.clock().get("b") == 0
    assert a.clock().compare(b.clock()) == CONCURRENT
    m = a.merged(b)
    assert m.clock().get("a") == 2 and m.clock().get("b") == 1
    assert m.clock().compare(a.clock()) == AFTER


def test_exhausted_operation_counter_raises_before_any_change():
    a = small("a")
    a.add_constraint("c1")
    a.metrics._ver[0] = COUNTER_LIMIT - 1  # as after the last local operation allowed
    before = a.encode()
    for op, arg in ((a.add_constraint, "c2"), (a.remove_constraint, "c1"),
                    (a.record_satisfied, 1), (a.update_position, (1, 1))):
        raises(OverflowError, op, arg)
        assert a.encode() == before


def test_equality_in_place_agrees_with_the_content_read_apart():
    # A state is compared in place (no table-sized lists): it must say
    # what comparing the content read apart says, for equal and nearly
    # equal pairs.
    from check import Rng
    from histories import replicas
    rng = Rng(5)
    for _ in range(3):
        reps = replicas(rng, nodes=3, steps=30, max_nodes=4, max_constraints=12)
        merged = reps[0].copy()
        for r in reps[1:]:
            merged.merge(r)
        states = reps + [merged]
        forms = [content(x) for x in states]
        for i in range(len(states)):
            for j in range(len(states)):
                assert (states[i] == states[j]) == (forms[i] == forms[j])
        forms = None
        other = merged.copy()
        assert other == merged
        cids = other.constraints.active_constraints()
        if cids:
            other.remove_constraint(cids[0])  # one dot gone, a context moved
            assert other != merged and content(other) != content(merged)


def test_equality_sees_the_smallest_differences_of_counters_and_register():
    a = small("a")
    b = a.copy()
    b.record_satisfied(1 << 40)  # only the high word of the count differs from 0
    a.record_satisfied(0)  # the same operation count, no satisfied checks
    assert a != b and b != a
    a.record_satisfied(1 << 40)
    b.record_violations(0)
    assert a == b
    c = small("c")
    d = small("c")
    d.position.join(0, 0, 0, 0)  # held as all-zero bytes, like an unset register
    assert c != d and d != c
    c.position.join(0, 0, 0, 0)
    assert c == d
    e = small("e")
    e.merge(a)  # a row f has and e lacks (f's own), the rest equal
    f = small("f")
    f.merge(a)
    f.record_satisfied(0)
    assert e != f and f != e

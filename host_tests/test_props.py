"""Property tests with hypothesis (CPython only): the harness of
``laws.py`` over histories hypothesis draws (and shrinks), for every
replicated type; and the state hash over states a few operations apart."""
from hypothesis import given, settings
from hypothesis import strategies as st
from laws import ChoiceRng, check_type, history
from specs import SPECS, StateSpec

from ccrdt.state import ConstraintState

DRAWS = st.lists(st.integers(0, 2 ** 16), min_size=150, max_size=300)  # about 3 a step


def _check_every_type(draws):
    for spec in SPECS:
        check_type(spec, ChoiceRng(draws), nodes=4, steps=50)


@settings(max_examples=150, deadline=None)
@given(DRAWS)
def test_every_type_obeys_the_laws_and_its_model(draws):
    _check_every_type(draws)


@settings(max_examples=100, deadline=None)
@given(DRAWS, DRAWS)
def test_hash_equal_iff_content_equal(d1, d2):
    x = history(StateSpec(), ChoiceRng(d1), 4, 50)[0][0]
    y = history(StateSpec(), ChoiceRng(d2), 4, 50)[0][0]
    assert (x == y) == (x.state_hash() == y.state_hash())


@settings(max_examples=300, deadline=None)
@given(DRAWS, st.lists(st.integers(0, 15), max_size=10), st.integers(1, 2))
def test_nearby_states_hash_apart(draws, small, steps):
    # One or two small operations away (draws below 16: small counter moves,
    # re-adds): the changes most likely to cancel in a sum of item hashes.
    spec = StateSpec()
    reps = history(spec, ChoiceRng(draws), 4, 50)[0]
    before = [r.copy() for r in reps]
    rng = ChoiceRng(small)
    for _ in range(steps):
        i, op = rng.below(4), spec.op(rng)
        if op is None:
            reps[i].merge(reps[rng.below(4)])
        else:
            spec.apply(reps[i], i, op)
    for x, y in zip(before, reps):
        assert (x == y) == (x.state_hash() == y.state_hash())
        assert (x == y) == (list(x.slice_hashes()) == list(y.slice_hashes()))


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(st.sampled_from(["a", "b", "c", "d"]), st.integers(1, 1000), min_size=1),
       st.dictionaries(st.sampled_from(["a", "b", "c", "d"]), st.integers(1, 1000), min_size=1))
def test_counter_maps_hash_by_content(m1, m2):
    # The seed hashed only totals: {a:100} and {b:100} collided.
    def build(m):
        s = ConstraintState("x", max_nodes=8, max_constraints=4)
        for node, n in m.items():
            o = ConstraintState(node, max_nodes=8, max_constraints=4)
            o.record_satisfied(n)
            s.merge(o)
        return s
    x, y = build(m1), build(m2)
    assert (m1 == m2) == (x == y) == (x.state_hash() == y.state_hash())

"""Every replicated type through the law-and-model harness (``laws.py``,
specs in ``specs.py``) on seeded histories: semilattice laws, every merge
order converging on what the model says, snapshots, digests.

Runs on CPython, both MicroPythons and the RV32 board (the xorshift
generator replays the same histories); hypothesis drives more of them on
CPython in test_props.py.
"""
from check import Rng
from content import content
from histories import replicas
from laws import check_type
from specs import ClockSpec, CounterSpec, RegisterSpec, SetSpec, StateSpec


def test_the_state_on_three_replicas():
    for seed in range(16):
        check_type(StateSpec(), Rng(seed))


def test_the_state_on_four_replicas_and_longer_histories():
    for seed in range(100, 112):
        check_type(StateSpec(max_nodes=4), Rng(seed), nodes=4, steps=60)


def test_the_add_wins_set():
    for seed in range(10):
        check_type(SetSpec(), Rng(seed), nodes=4)


def test_the_counters():
    for seed in range(6):
        check_type(CounterSpec(), Rng(seed), nodes=4)


def test_the_position_register():
    for seed in range(6):
        check_type(RegisterSpec(), Rng(seed), nodes=4)


def test_the_vector_clock():
    for seed in range(20):
        check_type(ClockSpec(), Rng(seed), nodes=4)


def test_hash_equality_matches_content_equality():
    seen = {}
    for seed in range(200, 230):
        for r in replicas(Rng(seed), steps=12):
            h = r.state_hash()
            text = str(content(r))  # one string: a small board's heap holds them all
            if h in seen:
                assert seen[h] == text, "hash collision between different contents"
            seen[h] = text

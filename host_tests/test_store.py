"""Snapshots: atomic writes, corrupt or missing files, restart keeps counting."""
import os

import check

from ccrdt.state import ConstraintState, origin_tag
from ccrdt.store import NEWEST, NONE, OLDER, Store

DIR = "build/test_store"


def fresh_dir():
    check.fresh_dir(DIR)


def store(log=None):
    lines = []
    return Store(DIR, "n1", 8, 16, log=lines.append), lines


def two_saves(first, second):
    """A fresh directory with state.prev at `first` satisfied checks and
    state.bin at first + second."""
    fresh_dir()
    st, _ = store()
    s, _ = st.load(0)
    s.record_satisfied(first)
    st.save(s)
    s.record_satisfied(second)
    st.save(s)


def test_first_boot_is_empty_under_the_new_incarnation():
    fresh_dir()
    st, _ = store()
    state, how = st.load(77)
    assert how == NONE and state == ConstraintState("n1", 8, 16)
    assert state.incarnation == 77 and state.tag == origin_tag(b"n1", 77)


def test_save_then_load_keeps_counting():
    fresh_dir()
    st, _ = store()
    s, _ = st.load(5)
    s.add_constraint("c1")
    s.record_satisfied(7)
    st.save(s)
    s.record_satisfied(2)
    st.save(s)
    back, how = store()[0].load(6)
    assert how == NEWEST and back == s and back.metrics.node_satisfied("n1") == 9
    assert back.incarnation == 5  # the snapshot's, not the one offered
    back.record_satisfied(1)
    assert back.metrics.node_satisfied("n1") == 10


def corrupt(name, how):
    path = DIR + "/" + name
    with open(path, "rb") as f:
        data = bytearray(f.read())
    if how == "truncate":
        data = data[:len(data) // 2]
    else:
        data[len(data) // 2] ^= 0xFF
    with open(path, "wb") as f:
        f.write(data)


def test_corrupt_snapshot_falls_back_to_the_previous_and_says_so():
    for how in ("truncate", "flip"):
        two_saves(5, 5)
        corrupt("state.bin", how)
        st2, lines = store()
        back, how = st2.load(9)
        assert how == OLDER  # newer changes may exist only on other boards
        assert back.metrics.node_satisfied("n1") == 5  # the previous good one
        assert st2.corrupt == 1 and any("refused" in line for line in lines)


def test_everything_corrupt_gives_an_empty_state_not_a_crash():
    two_saves(5, 0)
    corrupt("state.bin", "flip")
    corrupt("state.prev", "truncate")
    back, how = store()[0].load(9)
    assert how == NONE and back == ConstraintState("n1", 8, 16) and back.incarnation == 9


def test_crash_between_renames_loses_nothing():
    two_saves(3, 4)
    # As if the board died after moving state.bin away, before the new one
    # took its place: only state.prev and a complete state.tmp remain.
    os.rename(DIR + "/state.bin", DIR + "/state.tmp")
    back, how = store()[0].load(0)
    assert how == NEWEST and back.metrics.node_satisfied("n1") == 7


def test_a_complete_tmp_is_renamed_into_place_when_loaded():
    two_saves(3, 4)
    os.rename(DIR + "/state.bin", DIR + "/state.tmp")  # a crash between the renames
    st, _ = store()
    back, how = st.load(0)
    assert how == NEWEST and back.metrics.node_satisfied("n1") == 7
    # A later save cut short leaves a corrupt state.tmp: state.bin must be the 7.
    with open(DIR + "/state.tmp", "wb") as f:
        f.write(b"CCS\x02 cut short")
    again, how = store()[0].load(0)
    assert how == NEWEST and again.metrics.node_satisfied("n1") == 7


def test_the_config_sizes_win_over_the_snapshot_sizes():
    fresh_dir()
    st = Store(DIR, "n1", 4, 8)
    s, _ = st.load(3)
    s.record_satisfied(2)
    st.save(s)
    back, how = Store(DIR, "n1", 32, 64).load(3)
    assert how == NEWEST and back.max_nodes == 32 and back.max_constraints == 64
    assert back.metrics.node_satisfied("n1") == 2


def test_a_snapshot_of_a_newer_version_stops_the_load_and_stays():
    from check import raises

    from ccrdt.restore import SnapshotVersionError
    from ccrdt.fnv import fnv1a32
    two_saves(3, 4)
    with open(DIR + "/state.bin", "rb") as f:
        data = bytearray(f.read())
    data[3] = 9  # as written by a firmware of snapshot version 9
    body = bytes(data[:-4])
    newer = body + fnv1a32(body).to_bytes(4, "little")
    with open(DIR + "/state.bin", "wb") as f:
        f.write(newer)
    st, lines = store()
    e = raises(SnapshotVersionError, st.load, 0)
    assert "version 9" in str(e) and st.corrupt == 0
    with open(DIR + "/state.bin", "rb") as f:
        assert f.read() == newer  # untouched


def owned_store(fleet=1, key=bytes(range(16)), chip=b"chip-A", caps=(8, 16)):
    from ccrdt.boot import owner
    from ccrdt.wire import Cmac
    lines = []
    return Store(DIR, "n1", caps[0], caps[1], lines.append,
                 owner(fleet, Cmac(key), chip)), lines


def saved_by(st, satisfied=3):
    fresh_dir()
    s, _ = st.load(5)
    s.add_constraint("door")
    s.record_satisfied(satisfied)
    st.save(s)
    return s


def test_a_snapshot_of_another_fleet_or_key_stops_the_board_and_stays():
    from check import raises

    from ccrdt.restore import SnapshotError
    saved_by(owned_store(fleet=1)[0])
    with open(DIR + "/state.bin", "rb") as f:
        before = f.read()
    for other, what in ((owned_store(fleet=2)[0], "fleet 1"),
                        (owned_store(key=bytes(16))[0], "another fleet key")):
        e = raises(SnapshotError, other.load, 9)
        assert what in str(e) and "--fresh" in str(e), str(e)
    with open(DIR + "/state.bin", "rb") as f:
        assert f.read() == before  # nothing merged, nothing replaced
    state, how = owned_store()[0].load(9)  # its own fleet and key still load it
    assert how == NEWEST and state.metrics.total_satisfied() == 3


def test_a_snapshot_written_on_another_chip_is_told_apart():
    from ccrdt.store import MOVED
    saved_by(owned_store(chip=b"chip-A")[0])
    state, how = owned_store(chip=b"chip-B")[0].load(9)
    assert how == MOVED and state.metrics.total_satisfied() == 3
    assert state.owner.endswith(b"chip-B")  # the next snapshot is this chip's


def test_a_snapshot_that_does_not_fit_smaller_tables_stops_the_board():
    from check import raises

    from ccrdt.restore import SnapshotError
    st = owned_store(caps=(8, 16))[0]
    fresh_dir()
    s, _ = st.load(5)
    for i in range(12):
        s.add_constraint("c%d" % i)
    s.record_satisfied(7)
    st.save(s)
    small, lines = owned_store(caps=(8, 4))
    e = raises(SnapshotError, small.load, 9)
    assert "more than the configured tables" in str(e) and small.corrupt == 0, str(e)
    state, how = owned_store(caps=(8, 16))[0].load(9)  # the tables as before: all there
    assert how == NEWEST and len(state.constraints) == 12 and state.metrics.total_satisfied() == 7

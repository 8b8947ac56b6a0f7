"""Nothing from outside changes anything: an authentic frame recorded and
sent again, from any source, is refused and counted before it can force an
incarnation, be answered or join; answers to a sender are bounded until it
is validated; a real clone is still told apart.  Runs on CPython and under
MicroPython (host_tests/mprun.py)."""
from ccrdt import wire
from ccrdt.fresh import FACTOR, Senders
from ccrdt.gossip import GossipNode
from ccrdt.proto import NO_ROOM, NOT_FOR_ME, REPLAYED, STATUS, UNKNOWN_KIND
from ccrdt.transport import Peers
from ccrdt.restore import decode_state
from drive import exchange, introduce, ping, receive

KEY = bytes(range(16))


def node(name, nodes=8, constraints=16):
    return GossipNode(name, KEY, max_nodes=nodes, max_constraints=constraints)


def reboot(g):
    """g's board started again from its snapshot: a new epoch, as every
    start of a GossipNode is (the runtime writes it to flash first)."""
    st = g.state
    back = decode_state(st.encode(), g.node_id, st.max_nodes, st.max_constraints)
    return GossipNode(g.node_id, KEY, state=back)


def big(name):
    """A board whose full answer is many times a PING's size."""
    g = node(name, constraints=64)
    for i in range(60):
        g.add_constraint("constraint-%d" % i)
    return g


def acquainted(name):
    """A board that holds many constraints, a board s that has heard it,
    and a PING of s to it (echoing it: s is validated by it)."""
    b, s = big(name), node("s")
    s.add_constraint("z")
    introduce(s, b)
    return b, s, ping(s, b.state.tag)


def answered(n, frame):
    """The bytes n sends back to frame."""
    return sum(len(f) for f in receive(n, frame).responses)


def test_a_ping_of_an_earlier_boot_forces_no_new_incarnation():
    b = node("b")
    b.add_constraint("x")
    recorded = []
    for _ in range(5):  # a PING recorded at each boot, replayed after the last
        recorded.append(ping(b))
        b = reboot(b)
    tag, epoch = b.state.tag, b.framer.epoch
    assert epoch == 6
    for f in recorded:
        assert not receive(b, f).responses
    assert b.state.tag == tag and b.clashes == 0 and b.state.incarnation == 0
    assert b.rejected(REPLAYED) == 5 and b.rejected() == 5


def test_the_epoch_rises_across_boots_and_survives_the_snapshot():
    b = node("b")
    b.record_satisfied(1)
    e = b.framer.epoch
    b2 = reboot(b)
    assert b2.framer.epoch == e + 1 == b2.state.epoch
    f = ping(b2)
    assert wire.epoch(f) == e + 1 and wire.seq(f) == 1


def test_a_real_clone_is_still_told_apart():
    # One snapshot started on two boards (a cloned flash on a port with no
    # chip id): the same tag and epoch, and frames the other never sent.
    b = node("b")
    b.add_constraint("mine")
    x, y = reboot(b), reboot(b)
    assert x.state.tag == y.state.tag and x.framer.epoch == y.framer.epoch
    exchange(x, y)
    assert (x.clashes or y.clashes) and x.state.tag != y.state.tag
    for _ in range(2):
        exchange(x, y)
    assert x.state == y.state and x.state.constraints.contains("mine")
    # A clone that started more often: its epoch is ahead of this board's.
    z = reboot(reboot(b))
    w = reboot(b)
    tag = w.state.tag
    receive(w, ping(z))
    assert w.clashes == 1 and w.state.tag != tag


def test_a_clone_without_room_for_a_new_incarnation_keeps_counting():
    b = node("b", nodes=1)
    b.record_satisfied(1)  # its own row takes the only slot
    x, y = reboot(b), reboot(b)
    receive(y, ping(x))
    assert y.clashes == 1 and y.rejected(NO_ROOM) == 1
    assert y.state.tag == b.state.tag  # no slot: it did not move on
    y.record_satisfied(2)  # and it still counts
    assert y.state.metrics.total_satisfied() == 3


def test_a_frame_is_taken_once_and_old_ones_never():
    a, c = node("a"), node("c")
    a.add_constraint("k")
    introduce(a, c)
    first = ping(a, c.state.tag)
    later = [ping(a, c.state.tag) for _ in range(40)]
    assert receive(c, first).state_changed
    assert not receive(c, first).state_changed and c.rejected(REPLAYED) == 1
    receive(c, later[-1])
    for f in later[:8]:  # more than 32 frames below the newest: refused
        receive(c, f)
    assert c.rejected(REPLAYED) == 9
    receive(c, later[-2])  # out of order, but within the window: taken
    assert c.rejected(REPLAYED) == 9
    receive(c, later[-2])
    assert c.rejected(REPLAYED) == 10


def test_a_recorded_status_frame_passes_for_no_fresh_gossip_frame():
    # A board's STATUS frame, recorded on the monitor's topic and sent to a
    # gateway from the outsider's own address: authentic, never seen there,
    # but no frame the gossip takes, so it teaches no peer address.
    a, c = node("a"), node("c")
    introduce(a, c)
    buf = bytearray(wire.FRAME_MAX)
    status = bytes(buf[:a.framer.seal(buf, a.framer.begin(buf, STATUS))])
    later = ping(a, c.state.tag)
    assert not receive(c, status).responses
    assert c.fresh_tag == -1 and c.rejected(UNKNOWN_KIND) == 1 and c.rejected() == 1
    receive(c, later)  # a's next frame is fresh as before
    assert c.fresh_tag == a.state.tag and c.rejected() == 1


def test_a_recorded_ping_is_answered_at_most_three_times_its_size():
    a, s = big("a"), node("s")
    s.add_constraint("z")  # s's next pings carry slice hashes: a full answer would be large
    p = ping(s)
    first = answered(a, p)
    assert 0 < first <= FACTOR * len(p)
    for _ in range(99):
        assert answered(a, p) == 0
    assert a.rejected(REPLAYED) == 99 and a.senders.withheld >= 1


def test_a_ping_that_echoes_another_board_validates_nothing():
    a, b, s = big("a"), node("b"), node("s")
    s.add_constraint("z")
    introduce(s, b)
    p = ping(s, b.state.tag)  # on its way to b, recorded, and sent to a
    assert answered(a, p) <= FACTOR * len(p)


def test_a_frame_recorded_on_its_way_to_another_board_is_refused_unread():
    # Sequence numbers are the sender's: b never saw this frame, so only the
    # receiver named under the MAC tells b it was meant for c.
    b, c, s = big("b"), node("c"), node("s")
    introduce(s, b)
    introduce(s, c)
    s.add_constraint("z")
    before = b.state.state_hash()
    for f in (ping(s, c.state.tag), ping(s, c.state.tag)):
        res = receive(b, f)
        assert not res.responses and not res.state_changed and b.fresh_tag == -1
    assert b.rejected(NOT_FOR_ME) == 2 and b.rejected() == 2
    assert b.state.state_hash() == before
    assert answered(b, ping(s, b.state.tag)) > FACTOR * 200  # s itself is still heard in full


def test_a_validated_boards_ping_for_any_board_is_answered_as_a_strangers():
    # A PING that names no receiver (sent to an address before its board is
    # known) may be a recording played from anywhere: within its own credit.
    a, s = big("a"), node("s")
    s.add_constraint("z")
    introduce(s, a)
    assert answered(a, ping(s, a.state.tag)) > FACTOR * 200  # it echoed a: validated
    s.add_constraint("y")
    p = ping(s)
    assert 0 < answered(a, p) <= FACTOR * len(p)
    s.add_constraint("x")
    assert answered(a, ping(s, a.state.tag)) > FACTOR * 200  # its next echo: in full again


def test_a_ping_recorded_before_a_reboot_validates_nothing_after_it():
    # Its echo names the epoch of the frame it heard: after the reboot the
    # same low sequence bits name a frame of another epoch.
    a, s, recorded = acquainted("a")
    a = reboot(a)
    a.framer.seq = 50000  # well into the new epoch
    assert answered(a, recorded) <= FACTOR * len(recorded)


def test_a_board_that_hears_this_one_is_answered_in_full():
    a, s, p = acquainted("a")
    assert answered(a, p) > FACTOR * len(p)
    assert a.senders.withheld == 0


def test_first_contact_is_bounded_and_converges_all_the_same():
    a, s = big("a"), node("s", constraints=64)
    exchange(s, a)  # strangers: the answer is bounded
    assert a.senders.withheld >= 1 and s.state != a.state
    exchange(s, a)  # s heard a, so its ping echoes a: a full answer
    assert s.state == a.state


def test_a_sender_forgotten_for_room_is_never_refused_its_new_frames():
    t = Senders(2)
    assert t.admit(11, 1, 5, 30) >= 0
    assert t.admit(12, 1, 5, 30) >= 0
    assert t.admit(13, 1, 5, 30) >= 0  # 11 makes room
    assert t.admit(11, 1, 6, 30) >= 0  # back, with a newer frame: taken
    assert t.admit(11, 1, 6, 30) < 0


def test_skipped_sequence_numbers_are_counted():
    t = Senders(4)
    t.admit(7, 1, 1, 30)
    t.admit(7, 1, 5, 30)  # 2, 3, 4 did not come
    assert t.skipped == 3
    t.admit(7, 1, 3, 30)  # late, not lost
    assert t.skipped == 2
    t.admit(7, 2, 4, 30)  # a new epoch: 1..3 of it did not come
    assert t.skipped == 5


def test_one_address_per_board_and_one_board_per_address():
    p = Peers([("10.0.0.9", 1)], 4)
    real = ("10.0.0.2", 4210)
    assert p.heard(real, 77)
    for port in range(16):  # one frame of board 88, sent again from 16 ports
        p.heard(("10.0.0.66", port), 88)
    assert p.addrs.count(real) == 1 and p.tags.count(88) == 1
    assert p.addrs[0] == ("10.0.0.9", 1)  # a configured peer stays
    assert p.heard(("10.0.0.3", 4210), 77) and real not in p.addrs  # 77 moved
    assert not p.heard(("10.0.0.3", 4210), 78)  # a new incarnation at the same address
    assert p.tags.count(77) == 0 and p.tags.count(78) == 1


def validated_in_a_small_table():
    """A board b whose sender table has 4 rows, s validated there, and the
    PING of s that b answered in full."""
    b = big("b")
    b.senders = Senders(4, b.framer)
    s = node("s")
    introduce(s, b)
    recorded = ping(s, b.state.tag)
    assert answered(b, recorded) > FACTOR * len(recorded)  # validated: a full answer
    return b, s, recorded


def presences(n):
    """A presence PING of each of n boards."""
    buf = bytearray(wire.FRAME_MAX)
    return [bytes(buf[:o.presence_into(buf)]) for o in [node("o%d" % i) for i in range(n)]]


def test_recordings_of_more_senders_than_rows_sent_in_turn_stay_bounded():
    # Each recording takes the row the next one needs, so all pass as fresh;
    # the validated board keeps its row, so its recorded PING is a replay:
    # answers stay within credit.
    b, s, recorded = validated_in_a_small_table()
    heard = presences(4)
    for f in heard[:3]:
        receive(b, f)
    sent = got = 0
    for _ in range(10):
        for f in [heard[3], recorded] + heard[:3]:
            sent += len(f)
            got += answered(b, f)
    assert got <= FACTOR * sent, (got, sent)
    assert b.rejected(REPLAYED) == 10  # the validated board's recording, each time


def test_recordings_of_more_senders_than_rows_take_no_validated_boards_row():
    # Sent in turn, such recordings took every row in turn, the validated
    # board's too: it was answered within credit only, for as long as the
    # outsider went on.  They take the other rows now.
    b, s, _ = validated_in_a_small_table()
    heard = presences(5)
    rows = b.senders
    for _ in range(5):
        for f in heard:
            receive(b, f)
        row, = [k for k in range(rows.count) if rows.tags[k] == s.state.tag]
        assert rows.validated(row)  # s is answered in full


def test_a_board_whose_row_was_taken_is_validated_by_its_next_echo():
    b = big("b")
    b.senders = Senders(2, b.framer)
    s, o1, o2 = node("s"), node("o1"), node("o2")
    introduce(b, o1)
    introduce(b, o2)  # the table is full
    introduce(s, b)  # s takes a row, then hears b
    assert answered(b, ping(s, b.state.tag)) > FACTOR * 200


def test_a_recording_spends_no_credit_the_senders_own_frames_earned():
    # b hears s's broadcasts (a one-way link: s never hears b); a PING of s
    # for any board, recorded elsewhere, is answered within its own credit.
    b, s = big("b"), node("s", constraints=64)
    buf = bytearray(wire.FRAME_MAX)
    for _ in range(20):
        s.record_satisfied(1)
        for f in broadcasts(s):
            receive(b, f)
    p = bytes(buf[:s.ping_into(buf, True, -1)])
    assert 0 < answered(b, p) <= FACTOR * len(p)


def test_a_ping_lost_here_and_sent_again_later_is_answered_as_a_strangers():
    b, s, lost = acquainted("b")  # lost on its way; an outsider has it
    later = ping(s, b.state.tag)
    assert answered(b, later) > FACTOR * len(later)  # s's next PING: validated, in full
    assert answered(b, lost) <= FACTOR * len(lost)


def test_an_echo_names_the_whole_sequence_number():
    # 65 536 frames later the low 16 bits of a recorded echo name a recent
    # frame again: the whole number says it is not.
    b, s, recorded = acquainted("b")
    b.framer.seq += 1 << 16
    b.senders = Senders(8, b.framer)  # its row forgotten: the recording is fresh
    assert answered(b, recorded) <= FACTOR * len(recorded)


def broadcasts(g):
    out = []
    g.broadcast(lambda buf, n: out.append(bytes(buf[:n])))
    return out

"""The node runtime on the in-memory medium: transports as edges, no
sockets.  Runs on CPython and on MicroPython (host_tests/mprun.py)."""
import check
from memnet import Medium

from ccrdt.config import validate
from ccrdt.node import Node
from ccrdt.status import parse
from ccrdt.store import Store
from ccrdt.restore import decode_state

KEY = bytes(range(16))
DIR = "build/test_runtime"


def fleet_dir():
    """An empty DIR with the fleet key."""
    check.fresh_dir(DIR)
    with open(DIR + "/fleet.key", "wb") as f:
        f.write(KEY)


def node(name, transports, **cfg):
    """The node name on transports, its flash in DIR/name (see fleet_dir)."""
    c = {"node": name, "key_file": DIR + "/fleet.key", "udp": {"port": 1}}
    c.update(cfg)
    c = validate(c, "test")
    d = DIR + "/" + name
    check.fresh_dir(d)
    store = Store(d, name, c["max_nodes"], c["max_constraints"], lambda *a: None)
    return Node(c, store, transports, lambda *a: None)


def nodes(media_of, **cfg):
    """Nodes named by media_of's keys, each with one port on each medium
    listed for it; none is told of any peer."""
    fleet_dir()
    out = {}
    for name in media_of:
        n = node(name, [m.port(name) for m in media_of[name]], **cfg)
        for m in media_of[name]:
            m.attach(n)
        out[name] = n
    return out


def rounds(ns, media, k):
    """k gossip ticks of every node, each followed by every delivery."""
    for _ in range(k):
        for n in ns.values():
            n.commit()
            n.ping_peer()
        for m in media:
            m.settle()


def agreed(ns):
    first = list(ns.values())[0].state
    return all(n.state == first for n in ns.values())


def test_a_broadcast_medium_needs_no_peer_list():
    air = Medium()
    ns = nodes({name: [air] for name in ("a", "b", "c", "d")})
    for i, n in enumerate(ns.values()):
        n.add_constraint("c%d" % i)
        n.record_satisfied(i + 1)
    rounds(ns, [air], 1)
    # One broadcast each carried every change: no exchange was needed.
    assert agreed(ns), "not converged after one round of broadcasts"
    assert ns["a"].state.active_constraint_count() == 4
    assert ns["d"].state.metrics.node_satisfied("c") == 3
    # Presence and broadcasts taught each board its three peers.
    assert [n.transports[0].peer_count() for n in ns.values()] == [3, 3, 3, 3]


def test_a_gateway_carries_each_side_to_the_other():
    site1, site2 = Medium(), Medium()
    ns = nodes({"a1": [site1], "a2": [site1], "gw": [site1, site2], "b1": [site2]})
    ns["a1"].record_satisfied(5)
    ns["b1"].add_constraint("far")
    rounds(ns, [site1, site2], 1)
    rounds(ns, [site1, site2], 1)
    # Two hops of broadcast: the gateway passes on what it heard, so no
    # anti-entropy round was needed either way.
    assert agreed(ns)
    assert ns["a2"].state.constraints.contains("far")
    # (by origin: names travel only in a board's own PINGs, heard on its site)
    assert ns["b1"].state.metrics.origin(ns["a1"].state.tag) == (5, 0)


def test_answers_go_back_by_the_medium_the_frame_came_by():
    site1, site2 = Medium(), Medium()
    ns = nodes({"x": [site1], "gw": [site1, site2], "y": [site2]})
    for n in ns.values():
        n.commit()
    site2.cut.add("y")  # y misses the broadcasts: only anti-entropy repairs it
    ns["x"].add_constraint("k")
    rounds(ns, [site1, site2], 2)
    site2.cut.clear()
    assert not ns["y"].state.constraints.contains("k")
    sent_on_1 = site1.frames
    ns["y"].transports[0].heard("gw", ns["gw"].state.tag)
    ns["y"].ping_peer()  # a unicast PING to gw on site 2
    site2.settle()
    assert ns["y"].state.constraints.contains("k")
    assert site1.frames == sent_on_1, "an answer to site 2 went out on site 1"


def test_status_reaches_every_transport_that_has_a_monitor():
    air = Medium()
    ns = nodes({"a": [air]})
    ns["a"].record_violations(2)
    ns["a"].commit()
    ns["a"].report()
    frames = ns["a"].transports[0].statuses
    assert len(frames) == 1
    f = bytearray(frames[0])
    v = parse(f, len(f))
    assert v["own_violations"] == 2 and v["name"] == "a"


class _CtrlC:
    """A workload that stops the board as Ctrl-C does, once its tasks have
    run for ms milliseconds."""
    running = True

    def __init__(self, ms=30):
        self.ms = ms

    async def run(self):
        from ccrdt.node import sleep_ms
        await sleep_ms(self.ms)
        raise KeyboardInterrupt


def _serve_until_ctrl_c():
    """Build a node, serve it until Ctrl-C and drop it: it stopped cleanly
    (shutdown committed, the queue drained)."""
    air = Medium()
    n = nodes({"a": [air]})["a"]
    n.workload = _CtrlC()
    n.record_satisfied(3)
    n.serve()
    assert not n.running and n.own_counts() == (3, 0) and not n.pending


def test_an_interrupted_node_stops_cleanly_and_lets_go_of_its_heap():
    # Back at the REPL (mpremote taking over a running board), nothing of
    # the node may stay: MicroPython's asyncio held its tasks after a
    # KeyboardInterrupt.  The heap is counted where there is a counter
    # (CPython has none; there the clean stop is what is checked).
    import gc
    gc.collect()
    before = gc.mem_alloc() if hasattr(gc, "mem_alloc") else 0
    _serve_until_ctrl_c()
    gc.collect()
    if hasattr(gc, "mem_alloc"):
        kept = gc.mem_alloc() - before
        assert kept < 4000, "an interrupted node keeps %d bytes" % kept  # a state is 17 KB


class _FaultyDriver:
    """A transport whose first receive fails with what is no socket error
    (a driver's bug), then brings one frame, then nothing."""
    kind = "test"
    broadcasts, receives = False, True
    sent = send_errors = 0

    def __init__(self):
        self.calls = 0

    async def recv_into(self, buf):
        from ccrdt.node import sleep_ms
        self.calls += 1
        if self.calls == 1:
            raise ValueError("driver bug")
        if self.calls == 2:
            buf[0:4] = b"\xcc\x21\x01\x00"  # too short to be a frame: refused, counted
            return 4
        await sleep_ms(100000)

    def sender(self, into):
        return None

    def status(self, buf, n):
        return False

    def peer_count(self):
        return 0

    def close(self):
        pass


def test_a_receive_step_that_fails_is_counted_and_receiving_goes_on():
    fleet_dir()
    t = _FaultyDriver()
    n = node("a", [t])
    n.workload = _CtrlC(400)
    n.serve()
    assert t.calls == 3 and n.errors == 1 and n.rx == 1 and n.gossip.rejected() == 1


def _snapshot_epoch(name):
    with open(DIR + "/" + name + "/state.bin", "rb") as f:
        return decode_state(f.read(), name).epoch


def test_a_node_keeps_its_epoch_on_flash_before_its_first_frame():
    air = Medium()
    a = nodes({"a": [air]})["a"]
    assert _snapshot_epoch("a") == a.state.epoch == 1  # written at the start, before any frame
    a.report()
    old = bytes(a.transports[0].statuses[-1])
    c = {"node": "a", "key_file": DIR + "/fleet.key", "udp": {"port": 1}}
    cfg = validate(c, "test")
    store = Store(DIR + "/a", "a", cfg["max_nodes"], cfg["max_constraints"], lambda *a: None)
    again = Node(cfg, store, [air.port("a2")], lambda *a: None)  # the board started again
    assert again.state.epoch == 2 == _snapshot_epoch("a") and again.state.tag == a.state.tag
    again.process(bytearray(old), len(old), 0, "somewhere")  # its own frame of the last start
    assert again.gossip.rejected(10) == 1 and again.gossip.clashes == 0  # 10: REPLAYED
    assert again.state.tag == a.state.tag


def test_peers_are_learned_from_fresh_frames_only():
    air = Medium()
    ns = nodes({"x": [air], "y": [air]})
    x, y = ns["x"], ns["y"]
    buf = bytearray(250)
    n = x.gossip.presence_into(buf)
    frame = bytes(buf[:n])
    y.process(bytearray(frame), n, 0, "x-address")
    for port in range(16):  # the same frame, recorded and sent from 16 other places
        y.process(bytearray(frame), n, 0, "outsider:%d" % port)
    peers = y.transports[0].peers
    assert peers.addrs == ["x-address"] and peers.tags == [x.state.tag]
    assert y.gossip.rejected(10) == 16  # 10: REPLAYED
    m = y.gossip.presence_into(buf)  # its own frame, looped back, teaches nothing
    y.process(buf, m, 0, "loopback")
    assert peers.addrs == ["x-address"]


def test_reflashed_peers_at_the_same_address_are_heard_again():
    # s pings h's tag, which the reflashed h (a new incarnation) no longer
    # has: without broadcasts (a routed network, s knows h by address only)
    # and with them (learned peers).
    for broadcasts in (False, True):
        reflashed_peer_is_heard_again(broadcasts)


def reflashed_peer_is_heard_again(broadcasts):
    from ccrdt.transport import Peers
    net = Medium()
    fleet_dir()

    def board(name, fixed=()):
        t = net.port(name, broadcasts=broadcasts)
        t.peers = Peers([] if broadcasts else list(fixed), 16)
        n = node(name, [t])
        net.attach(n)
        return n
    h = board("h")
    s = board("s", ["h"])
    h.add_constraint("hub")
    s.add_constraint("spoke")
    rounds({"h": h, "s": s}, [net], 4)
    assert h.state == s.state
    h = board("h")  # reflashed: an empty flash, the same address
    h.add_constraint("new-hub")
    rounds({"h": h, "s": s}, [net], 50)
    assert h.state == s.state and s.state.constraints.contains("new-hub")
    assert s.transports[0].peers.tags == [h.state.tag]


def test_a_recording_played_from_elsewhere_moves_no_known_peer():
    # s pings a board x that is away: its PING names no receiver, and an
    # outsider plays it to b from its own address.  b knows s already.
    air = Medium()
    ns = nodes({"b": [air], "s": [air]})
    b, s = ns["b"], ns["s"]
    rounds(ns, [air], 3)
    peers = b.transports[0].peers
    assert peers.addrs == ["s"] and peers.tags == [s.state.tag]
    buf = bytearray(250)
    n = s.gossip.ping_into(buf, False, -1)
    b.process(buf, n, 0, "outsider")
    assert peers.addrs == ["s"] and peers.tags == [s.state.tag]
    m = s.gossip.presence_into(buf)  # a broadcast, played from elsewhere: the same
    b.process(buf, m, 0, "outsider:2")
    assert peers.addrs == ["s"]


def test_a_recording_of_a_board_never_heard_here_is_pinged_a_little_then_dropped():
    # c is of another site; its presence PING, played to b from a victim's
    # address, teaches b a peer that never answers: b stops pinging it.
    from ccrdt.transport import SILENT_MAX
    air, far = Medium(), Medium()
    ns = nodes({"b": [air], "s": [air], "c": [far]})
    b, s, c = ns["b"], ns["s"], ns["c"]
    rounds(ns, [air, far], 3)
    buf = bytearray(250)
    n = c.gossip.presence_into(buf)
    to_victim = []
    carry = air.carry
    air.carry = lambda d, src, f: to_victim.append(f) if d == "victim" else carry(d, src, f)
    b.process(bytearray(buf[:n]), n, 0, "victim")
    peers = b.transports[0].peers
    assert "victim" in peers.addrs
    rounds({"b": b, "s": s}, [air], 200)
    assert "victim" not in peers.addrs and len(to_victim) <= SILENT_MAX + 1
    assert peers.addrs == ["s"] and b.state == s.state  # the genuine peer stays


def test_a_frame_lost_here_and_played_from_elsewhere_is_answered_as_a_strangers():
    # s is validated at b; its newest PING never reached b, and an outsider
    # plays it to b from a victim's address before s's next frame arrives.
    from ccrdt.fresh import FACTOR
    air = Medium()
    ns = nodes({"b": [air], "s": [air]})
    b, s = ns["b"], ns["s"]
    for i in range(24):
        b.add_constraint("c%d" % i)
    rounds(ns, [air], 6)
    assert b.state == s.state
    s.add_constraint("new")
    buf = bytearray(250)
    n = s.gossip.ping_into(buf, True, b.state.tag)  # lost on its way to b
    to_victim = []
    carry = air.carry
    air.carry = lambda d, src, f: to_victim.append(len(f)) if d == "victim" else carry(d, src, f)
    b.process(bytearray(buf[:n]), n, 0, "victim")
    assert sum(to_victim) <= FACTOR * n, (sum(to_victim), n)
    assert b.transports[0].peers.addrs == ["s"]


def test_a_configured_peers_tag_is_at_one_address_only():
    # A frame of configured peer s, recorded and played from a victim's
    # address, made the victim a second address of s's tag ("home" there
    # from then on: a lost frame of s played from it earned a full answer,
    # 28x its size).  Only a sure frame moves a tag, and then it leaves the
    # configured address, which stays.
    from ccrdt.transport import Peers
    p = Peers(["s", "x"], 16)
    p.heard("s", 7, sure=False)
    assert p.tags == [7, -1]
    assert not p.heard("victim", 7, sure=False)
    assert p.addrs == ["s", "x"] and not p.home_of("victim", 7)
    assert not p.heard("x", 7, sure=False) and p.tags == [7, -1]  # nor a configured one
    assert p.heard("there", 7, sure=True)  # s answers from elsewhere now
    assert p.addrs == ["s", "x", "there"] and p.tags == [-1, -1, 7]


def test_an_espnow_answer_to_a_mac_that_is_no_peer_teaches_no_peer(monkeypatch):
    # The radio needs a MAC registered to send to it; registering it as a
    # peer (tag unknown) let the next frame from it, a recording, give it a
    # known board's tag.  It is registered for the answer only.
    import os
    import socket
    import sys
    hub = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    hub.bind(("127.0.0.1", 0))
    monkeypatch.setenv("CCRDT_AIR", "127.0.0.1:%d" % hub.getsockname()[1])
    monkeypatch.setenv("CCRDT_MAC", "02000000000b")
    monkeypatch.syspath_prepend(os.path.join(os.path.dirname(__file__), "shim"))
    for name in ("espnow", "aioespnow", "network"):
        sys.modules.pop(name, None)
    from ccrdt.transport.espnow import EspNowTransport
    t = EspNowTransport(1, log=lambda *a: None)
    victim = bytearray(b"\x02\x00\x00\x00\xde\xad")
    try:
        assert t.send(victim, bytearray(40), 40)
        assert t.peers.addrs == [] and t.e.get_peers() == ((b"\xff" * 6, b"", 0, 0, False),)
        assert hub.recv(400)[:1] == b"H"  # the radio joined the air
        d = hub.recv(400)
        assert d[:1] == b"D" and d[8:14] == victim  # the answer left
    finally:
        t.close()
        hub.close()

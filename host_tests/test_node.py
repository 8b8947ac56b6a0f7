"""The node runtime under CPython's asyncio (the same code runs on boards)."""
import asyncio
import io

from ccrdt import proto
from ccrdt.boot import build
from ccrdt.config import validate
from ccrdt.node import RxQueue
from drive import introduce, ping

from netsim import free_ports


def config(tmp_path, name, port, peer, peer_port, **extra):
    (tmp_path / "fleet.key").write_bytes(bytes(range(16)))
    cfg = {"node": name, "key_file": str(tmp_path / "fleet.key"),
           "udp": {"port": port, "peers": [{"node": peer, "addr": "127.0.0.1:%d" % peer_port}]},
           "gossip_ms": 50, "snapshot_ms": 100, "status_ms": 1000}
    cfg.update(extra)
    return validate(cfg, "test")


def close(node):
    for t in node.transports:
        t.close()


def test_two_nodes_converge_over_udp_and_commit(tmp_path):
    p1, p2 = free_ports(2)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a = build(config(tmp_path, "a", p1, "b", p2), str(tmp_path / "a"), log=lambda *x: None)
    b = build(config(tmp_path, "b", p2, "a", p1), str(tmp_path / "b"), log=lambda *x: None)
    a.add_constraint("c1")
    a.record_satisfied(3)
    b.record_violations(2)

    async def go():
        ta, tb = asyncio.create_task(a.run()), asyncio.create_task(b.run())
        for _ in range(100):
            await asyncio.sleep(0.05)
            # names travel in PINGs, so each must also have heard the other's
            if (a.state == b.state and not a.pending and a.state.constraints.contains("c1")
                    and sorted(a.state.nodes()) == sorted(b.state.nodes()) == ["a", "b"]):
                break
        a.running = b.running = False
        ta.cancel()
        tb.cancel()
    asyncio.run(go())
    assert a.state == b.state
    assert b.state.metrics.node_satisfied("a") == 3 and a.state.metrics.node_violations("b") == 2
    assert (tmp_path / "a" / "state.bin").exists()
    close(a)
    close(b)


def test_rx_queue_is_bounded_and_counts_drops():
    async def go():
        q = RxQueue(2)
        mac = bytearray(6)
        for k in range(5):
            mac[0] = k
            q.put(bytes([k]), 1, 0, mac, mac)
        assert q.count == 2 and q.dropped == 3
        i, j = q.pop(), q.pop()
        assert q.bufs[i][0] == 0 and q.bufs[j][0] == 1 and q.count == 0
        # the senders were kept, not the receiver's reused buffer
        assert q.senders[i][0] == 0 and q.senders[j][0] == 1 and q.senders[i] is not mac
    asyncio.run(go())


def test_a_failing_handler_is_counted_and_the_node_goes_on(tmp_path):
    p1, p2 = free_ports(2)
    (tmp_path / "a").mkdir()
    lines = []
    a = build(config(tmp_path, "a", p1, "b", p2), str(tmp_path / "a"), log=lines.append)

    def boom(frame, n, emit, home):
        raise RuntimeError("bug")
    real = a.gossip.handle
    a.gossip.handle = boom

    async def go():
        t = asyncio.create_task(a._process())
        a.queue.put(bytes(10), 10, 0, None)
        await asyncio.sleep(0.05)
        a.gossip.handle = real
        a.queue.put(bytes(10), 10, 0, None)
        await asyncio.sleep(0.05)
        a.running = False
        t.cancel()
    asyncio.run(go())
    assert a.errors == 1 and any("bug" in line for line in lines)
    assert a.rx == 2 and a.gossip.rejected(proto.BAD_SIZE) == 1  # the next frame was handled
    close(a)


def test_operations_wait_for_the_commit(tmp_path):
    p1, p2 = free_ports(2)
    (tmp_path / "a").mkdir()
    a = build(config(tmp_path, "a", p1, "b", p2), str(tmp_path / "a"), log=lambda *x: None)
    a.add_constraint("c1")
    a.record_satisfied(4)
    assert not a.state.constraints.contains("c1")  # not visible before it is on flash
    assert a.commit()
    assert a.state.constraints.contains("c1") and a.own_counts() == (4, 0)
    assert (tmp_path / "a" / "state.bin").exists()
    assert not a.commit()  # nothing new: no flash write
    close(a)


class Clock:
    """ticks_ms for a test: 30 bits, wrapping, moved by hand or by `step`
    milliseconds at every read."""

    def __init__(self, start=(1 << 30) - 1000, step=0):
        self.total, self.step = start, step

    def __call__(self):
        self.total += self.step
        return self.total & 0x3FFFFFFF


def quiet_node(tmp_path, clock=None, **extra):
    p1, p2 = free_ports(2)
    (tmp_path / "a").mkdir()
    lines = []
    n = build(config(tmp_path, "a", p1, "b", p2, **extra), str(tmp_path / "a"), lines.append,
              clock or Clock())
    return n, lines


def test_the_commit_keeps_what_it_cannot_apply_and_retries(tmp_path):
    from ccrdt.state import ConstraintState
    a, lines = quiet_node(tmp_path, max_constraints=2)
    a.add_constraint("c1")
    a.record_satisfied(5)
    assert a.commit()
    a.add_constraint("c2")  # room for it now
    other = ConstraintState("b", 32, 2)
    other.add_constraint("b1")
    a.state.merge(other)  # a frame fills the table before the commit
    a.record_satisfied(2)
    a.commit()
    # The add waits, counted and reported; the counts went through.
    assert a.pending == [("add", "c2")] and a.held_ops == 1 and a.own_counts() == (7, 0)
    assert a.status_values()["held_ops"] == 1 and any("keeps 1 items" in x for x in lines)
    a.remove_constraint("c1")
    a.commit()  # the add is tried first, in order: still no room; the remove frees a slot
    assert a.pending == [("add", "c2")]
    a.commit()
    assert a.state.constraints.active_constraints() == ["b1", "c2"]
    assert not a.pending and a.held_ops == 0 and a.status_values()["held_ops"] == 0
    close(a)


def test_refusals_and_months_of_uptime_reach_the_monitor(tmp_path):
    import socket
    from rich.console import Console
    from monitor import Monitor
    from ccrdt.gossip import GossipNode
    from ccrdt.state import ConstraintState
    listener = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    listener.bind(("127.0.0.1", 0))
    listener.settimeout(5)
    clock = Clock()
    a, _ = quiet_node(tmp_path, clock, max_nodes=2,
                      monitor="127.0.0.1:%d" % listener.getsockname()[1])
    a.record_satisfied(1)
    a.commit()  # a's own row takes the first slot
    for name in ("b", "c"):  # c finds the node table full
        other = GossipNode(name, bytes(range(16)), max_nodes=2)
        other.record_satisfied(1)
        f = bytearray(ping(other))
        a.process(f, len(f))
    f[-1] ^= 1
    a.process(f, len(f))  # a bad MAC
    twin = GossipNode("a", bytes(range(16)), state=ConstraintState(
        "a", 2, 64, (a.state.incarnation + 1) % (1 << 30)))  # another board named "a"
    # In range of a, heard by a first: a's table is full, so the twin's PING
    # must echo a frame a sent after the twin took a row (ccrdt.fresh).
    introduce(twin, a.gossip)
    f = ping(twin, a.state.tag)
    a.process(bytearray(f), len(f))
    try:
        a.record_satisfied(-1)
    except ValueError:
        pass
    for _ in range(40):  # 124 days, read as the status task reads it
        clock.total += 1 << 28
        a.uptime.ms()
    a.report()
    mon = Monitor(bytes(range(16)))
    data, addr = listener.recvfrom(300)
    mon.datagram_received(data, addr)
    s = mon.named()["a"]
    assert s["nodes"] == s["max_nodes"] == 2 and s["refused_ops"] == 1
    assert s["uptime_ms"] == 0xFFFFFFFF and s["uptime_s"] == (40 << 28) // 1000
    line = mon.line()
    assert ("a: node table full (2), 2 frames rejected (bad MAC 1, no room 1), "
            "1 operations refused, its name is used by another board (1 pings)") in line
    console = Console(record=True, width=300, file=io.StringIO())
    console.print(mon.table())
    table = console.export_text()
    assert "124d 06h 36m" in table and "no room 1" in table and "2/2" in table
    listener.close()
    close(a)


def test_the_workload_runs_its_time_across_tick_wraps(tmp_path):
    # Every clock read moves 2**28 ms (3.1 days): the tick counter wraps
    # every 4 reads; 2**31 ms of run time end after the 9th read.
    a, _ = quiet_node(tmp_path, Clock(step=1 << 28), workload={
        "module": "ccrdt.workload", "interval_ms": 1, "run_ms": 1 << 31})

    async def go():
        await asyncio.wait_for(a.workload.run(), 10)
    asyncio.run(go())
    assert not a.workload.running and a.workload.steps == 8
    close(a)


class OneFrame:
    """A transport that delivers one frame once `go` is set."""
    kind, broadcasts, receives = "test", False, True

    def __init__(self, frame, go):
        self.frame, self.go, self.sent = frame, go, 0

    async def recv_into(self, buf):
        await self.go.wait()
        frame, self.frame = self.frame, None
        if frame is None:
            await asyncio.Event().wait()  # nothing more, ever
        buf[:len(frame)] = frame
        return len(frame)

    def sender(self, into):
        return None

    def heard(self, addr):
        pass


def test_transports_that_receive_at_once_do_not_share_a_slot(tmp_path):
    """Every transport's task waits in recv_into at once (a gateway): two
    frames arriving together both reach the gossip intact."""
    from ccrdt.gossip import GossipNode
    key = bytes(range(16))
    frames = [ping(GossipNode(n, key)) for n in ("p", "q")]
    p1, p2 = free_ports(2)
    (tmp_path / "a").mkdir()
    a = build(config(tmp_path, "a", p1, "b", p2), str(tmp_path / "a"), log=lambda *x: None)

    async def go():
        ev = asyncio.Event()
        a.transports = [OneFrame(f, ev) for f in frames]
        tasks = [asyncio.create_task(a._receive(i)) for i in range(2)]
        tasks.append(asyncio.create_task(a._process()))
        await asyncio.sleep(0.02)  # both receivers now wait
        ev.set()
        await asyncio.sleep(0.05)
        a.running = False
        for t in tasks:
            t.cancel()
    udp = a.transports
    asyncio.run(go())
    assert a.rx == 2 and a.gossip.rejected() == 0 and a.gossip.authentic == 2
    a.transports = udp
    close(a)

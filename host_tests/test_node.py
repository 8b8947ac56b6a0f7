"""The node runtime under CPython's asyncio (the same code runs on boards)."""
import asyncio
import os
import sys

from ccrdt.config import validate
from ccrdt.node import Node, RxQueue
from ccrdt import wire
from interp import ROOT

sys.path.insert(0, os.path.join(ROOT, "tools"))
from netsim import free_ports  # noqa: E402


def config(tmp_path, name, port, peer, peer_port, **extra):
    (tmp_path / "fleet.key").write_bytes(bytes(range(16)))
    cfg = {"node": name, "key_file": str(tmp_path / "fleet.key"),
           "udp": {"port": port, "peers": [{"node": peer, "addr": "127.0.0.1:%d" % peer_port}]},
           "gossip_ms": 50, "snapshot_ms": 100, "status_ms": 1000}
    cfg.update(extra)
    return validate(cfg, "test")


def test_two_nodes_converge_over_udp_and_commit(tmp_path):
    p1, p2 = free_ports(2)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a = Node(config(tmp_path, "a", p1, "b", p2), str(tmp_path / "a"), log=lambda *x: None)
    b = Node(config(tmp_path, "b", p2, "a", p1), str(tmp_path / "b"), log=lambda *x: None)
    a.add_constraint("c1")
    a.record_satisfied(3)
    b.record_violations(2)

    async def go():
        ta, tb = asyncio.create_task(a.run()), asyncio.create_task(b.run())
        for _ in range(100):
            await asyncio.sleep(0.05)
            if a.state == b.state and not a.pending and a.state.constraints.contains("c1"):
                break
        a.running = b.running = False
        ta.cancel()
        tb.cancel()
    asyncio.run(go())
    assert a.state == b.state
    assert b.state.metrics.node_satisfied("a") == 3 and a.state.metrics.node_violations("b") == 2
    assert (tmp_path / "a" / "state.bin").exists()
    a.udp.close()
    b.udp.close()


def test_rx_queue_is_bounded_and_counts_drops():
    async def go():
        q = RxQueue(2)
        for k in range(5):
            i = q.slot()
            q.bufs[i][0] = k
            q.push(i, 1, 0)
        assert q.count == 2 and q.dropped == 3
        assert q.bufs[q.pop()][0] == 0 and q.bufs[q.pop()][0] == 1 and q.count == 0
    asyncio.run(go())


def test_a_failing_handler_is_counted_and_the_node_goes_on(tmp_path):
    p1, p2 = free_ports(2)
    (tmp_path / "a").mkdir()
    lines = []
    a = Node(config(tmp_path, "a", p1, "b", p2), str(tmp_path / "a"), log=lines.append)

    def boom(frame, n, emit):
        raise RuntimeError("bug")
    real = a.gossip.handle
    a.gossip.handle = boom

    async def go():
        t = asyncio.create_task(a._process())
        a.queue.push(a.queue.slot(), 10, 0)
        await asyncio.sleep(0.05)
        a.gossip.handle = real
        i = a.queue.slot()
        a.queue.bufs[i][:10] = bytes(10)
        a.queue.push(i, 10, 0)
        await asyncio.sleep(0.05)
        a.running = False
        t.cancel()
    asyncio.run(go())
    assert a.errors == 1 and any("bug" in line for line in lines)
    assert a.rx == 2 and a.gossip.rejected(wire.BAD_SIZE) == 1  # the next frame was handled
    a.udp.close()


def test_operations_wait_for_the_commit(tmp_path):
    p1, p2 = free_ports(2)
    (tmp_path / "a").mkdir()
    a = Node(config(tmp_path, "a", p1, "b", p2), str(tmp_path / "a"), log=lambda *x: None)
    a.add_constraint("c1")
    a.record_satisfied(4)
    assert not a.state.constraints.contains("c1")  # not visible before it is on flash
    assert a.commit()
    assert a.state.constraints.contains("c1") and a.own_counts() == (4, 0)
    assert (tmp_path / "a" / "state.bin").exists()
    assert not a.commit()  # nothing new: no flash write
    a.udp.close()

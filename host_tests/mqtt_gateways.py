"""Gateways (ccrdt.transport.mqtt) in one MicroPython process, on a real
broker, driven by host_tests/test_mqtt_transport.py.

    micropython mqtt_gateways.py MODE PORT PREFIX SIGNAL_DIR

MODE: "flow" (broadcast, unicast, outsiders, a broker restart), "freeze"
(a broker that stops answering) or "alloc" (heap allocated per frame, the
GC disabled).  Prints "STEP {json}" lines with what it observed; where the
test must act on the broker it prints the step and waits for the file
SIGNAL_DIR/<step> to appear.
"""
import asyncio
import gc
import json
import os
import sys
from binascii import hexlify
from time import ticks_diff, ticks_ms

from ccrdt.fnv import tag30
from ccrdt.transport.mqtt import MqttTransport
from waiting import until

MODE, PORT, PREFIX, SIG = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
BUF = 251  # a node's receive buffer: FRAME_MAX + 1
# Binary frames: every byte value, MQTT's "/", "+" and "#" included.
F1 = bytes(range(250))
F2 = bytes((7 * i + 3) & 255 for i in range(120))
F3 = b"\x00reply/+#\xff"
S1 = b"STATUS\x00\x01\x02"
F4, F5, F6, F7 = b"lost-bcast", b"lost-uni", b"back-bcast", b"back-uni"


def report(step, **kw):
    print(step, json.dumps(kw))


def log_to_stdout(name):
    return lambda line: print("LOG", name, line)


async def signal(step):
    """Print step and wait until the test has done its part."""
    report(step)
    while True:
        try:
            os.stat(SIG + "/" + step)
            return
        except OSError:
            await asyncio.sleep_ms(50)


def gateways(names, prefix=PREFIX, keepalive_s=2):
    """Keyed by name as bytes, as sender() gives it."""
    return {n.encode(): MqttTransport(n, "127.0.0.1", PORT, prefix, log=log_to_stdout(n),
                                      keepalive_s=keepalive_s) for n in names}


def by_name(d):
    return {n.decode(): v for n, v in d.items()}


def counters(gws):
    return {n: {"sent": g.sent, "send_errors": g.send_errors, "connects": g.connects,
                "disconnects": g.disconnects, "peers": [p.decode() for p in g.peers.addrs]}
            for n, g in gws.items()}


async def start(gws, got):
    """The keeper of each, and a reader that records every frame as
    [sender, hex of what was copied, length] and notes gateways (not the
    outsider "x") as heard, as the gossip layer does for authentic frames."""
    async def reader(name, g):
        buf = bytearray(BUF)
        while True:
            n = await g.recv_into(buf)
            s = g.sender(bytearray(6))
            got[name].append([s.decode(), hexlify(buf[:min(n, BUF)]).decode(), n])
            if s in gws and s != name:  # as the node does for a fresh frame of another
                g.heard(s, tag30(s))

    for n, g in gws.items():
        asyncio.create_task(g.run())
        asyncio.create_task(reader(n, g))
    return await until(lambda: all(g.connects for g in gws.values()), 10000)


async def flow():
    gws = gateways(("ga", "gb", "gc"))
    got = {n: [] for n in gws}
    ga, gb = gws[b"ga"], gws[b"gb"]
    up = await start(gws, got)
    g = by_name(got)  # the same lists, for the reports

    def settle(cond):
        return until(cond, 5000)

    ga.broadcast(bytearray(F1) + b"tail", len(F1))  # only buf[:n] goes out
    await settle(lambda: got[b"gb"] and got[b"gc"])
    r2 = ga.send(b"gb", F2, len(F2))  # gb is no peer of ga yet: the topic is built
    await settle(lambda: len(got[b"gb"]) >= 2)
    reply_to = gb.peers.addrs[0] if gb.peers.addrs else None
    r3 = gb.send(reply_to, F3, len(F3))
    await settle(lambda: len(got[b"ga"]) >= 2)  # its own broadcast, then gb's reply
    r4 = ga.status(S1, len(S1))
    await asyncio.sleep_ms(500)  # room for any stray delivery to show
    report("BASIC", up=up, got=g, sent=[r2, r3, r4], counters=counters(gws),
           frames={k: hexlify(v).decode() for k, v in
                   (("F1", F1), ("F2", F2), ("F3", F3), ("S1", S1))})
    for v in got.values():
        v.clear()

    # The test publishes 3 payloads on P/b/x as an outsider.
    await signal("OUTSIDER")
    await until(lambda: all(len(v) >= 3 for v in got.values()), 10000)
    await asyncio.sleep_ms(300)
    report("OUTSIDER_GOT", got=g, counters=counters(gws))
    for v in got.values():
        v.clear()

    await signal("STOPPED")  # the test has stopped the broker
    down = await until(lambda: all(x.sock is None for x in gws.values()), 10000)
    res = [ga.broadcast(F4, len(F4)), ga.send(b"gb", F5, len(F5)), gb.status(S1, len(S1))]
    report("OUTAGE", down=down, results=res, counters=counters(gws))
    await signal("RESTARTED")
    t0 = ticks_ms()
    back = await until(lambda: all(x.connects >= 2 for x in gws.values()), 40000)
    ms = ticks_diff(ticks_ms(), t0)
    res = [ga.broadcast(F6, len(F6)), ga.send(b"gb", F7, len(F7))]
    await until(lambda: len(got[b"gb"]) >= 2 and got[b"gc"], 5000)
    await asyncio.sleep_ms(500)
    report("AFTER", back=back, reconnect_ms=ms, results=res, got=g, counters=counters(gws))


async def freeze():
    gws = gateways(("fa", "fb"))
    got = {n: [] for n in gws}
    up = await start(gws, got)
    await signal("FROZEN")  # the broker process is stopped (SIGSTOP): silent, not closed
    t0 = ticks_ms()
    dropped = await until(lambda: all(g.disconnects for g in gws.values()), 15000)
    report("DROPPED", up=up, dropped=dropped, ms=ticks_diff(ticks_ms(), t0),
           counters=counters(gws))
    await signal("THAWED")
    back = await until(lambda: all(g.connects >= 2 for g in gws.values()), 40000)
    gws[b"fa"].broadcast(F3, len(F3))
    await until(lambda: got[b"fb"], 5000)
    report("THAWED_GOT", back=back, got=by_name(got), counters=counters(gws))


async def alloc():
    """Heap allocated per frame, the GC disabled; no other task reads."""
    gws = gateways(("ma", "mb"), keepalive_s=60)
    for g in gws.values():
        asyncio.create_task(g.run())
    await until(lambda: all(g.connects for g in gws.values()), 10000)
    ma, mb = gws[b"ma"], gws[b"mb"]
    buf, frame = bytearray(BUF), bytearray(F1)
    ma.send(b"mb", frame, 10)
    await mb.recv_into(buf)
    mb.heard(mb.sender(None), tag30(b"ma"))
    ma.heard(b"mb", tag30(b"mb"))
    rows = []
    for n in (10, 100, 250, 250, 250):
        gc.collect()
        gc.disable()
        a0 = gc.mem_alloc()
        ma.client.publish(b"unread/topic", memoryview(frame)[:n])  # umqtt alone, and a view
        a1 = gc.mem_alloc()
        ok = ma.send(b"mb", frame, n)
        a2 = gc.mem_alloc()
        got = await mb.recv_into(buf)
        a3 = gc.mem_alloc()
        s = mb.sender(None)
        mb.heard(s, tag30(b"ma"))
        a4 = gc.mem_alloc()
        gc.enable()
        rows.append({"n": n, "ok": ok, "got": got, "from": s.decode(), "publish_alone": a1 - a0,
                     "send": a2 - a1, "recv_into": a3 - a2, "sender_heard": a4 - a3})
    report("ALLOC", rows=rows, bits=64 if sys.maxsize > 2**31 else 32)


asyncio.run({"flow": flow, "freeze": freeze, "alloc": alloc}[MODE]())
sys.exit(0)

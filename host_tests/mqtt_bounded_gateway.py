"""Two gateways (ccrdt.transport.mqtt) in one MicroPython process on a real
broker, while an outsider without the fleet key (the test's paho client)
publishes messages longer than a frame, and topics longer than any
gateway's, on the fleet's topics; driven by host_tests/test_mqtt_bounded.py.

    micropython mqtt_bounded_gateway.py MODE PORT PREFIX PLAN FREE

MODE "noise": gw and ga read as a node does (an exception is counted and
the reader goes on).  For each step of PLAN (JSON: a list of
{"to": "b" or "u", "name": length of the outsider's name, "size": payload
bytes, "count": messages}) it prints "PUBLISH {"step": i}", waits until the
outsider's messages reached every gateway subscribed to their topic (as a
frame, or for a topic longer than a gateway's as one more oversized
message), then has ga send gw a genuine frame (by unicast and broadcast in
turn) and waits until it arrived; then "STEP {json}" reports what each
gateway read meanwhile.  Before the steps it fills the heap until about FREE
bytes are left, what a gateway with its node's state has.

MODE "alloc": no reader tasks; gw's recv_into() alone, the GC disabled
around each call, for genuine frames of ga and for PLAN's messages (each
announced by "PUBLISH"; a topic the gateway skips is followed by a 10-byte
message on P/u/gw/x, which recv_into() then returns).  Prints "ALLOC {json}".

MODE "slow": gw alone on a broker the test plays by hand (see slow()).
"""
import asyncio
import gc
import json
import sys
from binascii import crc32
from time import ticks_diff, ticks_ms

from ccrdt.fnv import tag30
from ccrdt.transport.mqtt import MqttTransport
from waiting import until

MODE, PORT, PREFIX = sys.argv[1], int(sys.argv[2]), sys.argv[3]
PLAN, FREE = json.loads(sys.argv[4]), int(sys.argv[5])
BUF = 251  # a node's receive buffer: FRAME_MAX + 1
NAME_MAX = 16  # a gateway's name: its topics are no longer than that allows
FRAMES = [bytes((5 * i + k) & 255 for i in range(n)) for k, n in enumerate((250, 10, 120))]


def report(what, **kw):
    print(what, json.dumps(kw))


def gateways(keepalive_s):
    return {n: MqttTransport(n.decode(), "127.0.0.1", PORT, PREFIX, keepalive_s=keepalive_s,
                             log=lambda line, n=n: print("LOG", n.decode(), line))
            for n in (b"ga", b"gw")}


def oversized(g):
    return getattr(g, "oversized", 0)


def counters(gws, errors):
    return {n.decode(): {"connects": g.connects, "disconnects": g.disconnects,
                         "oversized": getattr(g, "oversized", None), "errors": errors[n],
                         "sent": g.sent, "send_errors": g.send_errors}
            for n, g in gws.items()}


async def noise():
    gws = gateways(keepalive_s=4)  # pings go out during the steps
    got = {n: [] for n in gws}
    errors = {n: 0 for n in gws}

    async def reader(name, g):  # as ccrdt.node's _receive
        buf = bytearray(BUF)
        while True:
            try:
                n = await g.recv_into(buf)
                s = g.sender(None)
            except Exception as e:
                errors[name] += 1
                print("LOG", name.decode(), "receive error:", repr(e))
                await asyncio.sleep_ms(100)
                continue
            # What was copied, as its CRC-32: 10 copies of 251 bytes in hex
            # would not fit in the heap left.
            got[name].append([s.decode(), n, crc32(memoryview(buf)[:min(n, BUF)])])
            if s in gws and s != name:  # as the node does for a fresh frame of another
                g.heard(s, tag30(s))

    for n, g in gws.items():
        asyncio.create_task(g.run())
        asyncio.create_task(reader(n, g))
    up = await until(lambda: all(g.connects for g in gws.values()), 10000)
    ga, gw = gws[b"ga"], gws[b"gw"]
    gc.collect()
    ballast = []
    while gc.mem_free() > FREE + 2048:
        ballast.append(bytearray(256))
    gc.collect()
    report("UP", up=up, free=gc.mem_free())
    low = gc.mem_free()
    for i, step in enumerate(PLAN):
        whom = (ga, gw) if step["to"] == "b" else (gw,)
        frame = step["name"] <= NAME_MAX  # else a topic no gateway has
        c = step.get("count", 1)
        before = {id(g): len(got[n]) if frame else oversized(g) for n, g in gws.items()}

        def arrived(g):
            n = b"ga" if g is ga else b"gw"
            return (len(got[n]) if frame else oversized(g)) - before[id(g)] >= c

        report("PUBLISH", step=i)
        reached = await until(lambda: all(arrived(g) for g in whom), 30000)
        f = FRAMES[i % len(FRAMES)]
        n0 = len(got[b"gw"])
        sent = ga.send(b"gw", f, len(f)) if i % 2 == 0 else ga.broadcast(f, len(f))
        crossed = await until(lambda: len(got[b"gw"]) > n0, 10000)
        await asyncio.sleep_ms(200)  # room for anything stray to show
        gc.collect()
        low = min(low, gc.mem_free())
        report("STEP", step=i, reached=reached, sent=sent, crossed=crossed,
               frame=[len(f), crc32(f)], got={n.decode(): v for n, v in got.items()},
               counters=counters(gws, errors), free=gc.mem_free())
        for v in got.values():
            v.clear()
    report("END", counters=counters(gws, errors), low=low, ballast=len(ballast))


async def alloc():
    gws = gateways(keepalive_s=60)
    for g in gws.values():
        asyncio.create_task(g.run())
    await until(lambda: all(g.connects for g in gws.values()), 10000)
    ga, gw = gws[b"ga"], gws[b"gw"]
    buf = bytearray(BUF)
    ga.send(b"gw", FRAMES[1], 10)
    await gw.recv_into(buf)
    gw.heard(gw.sender(None), tag30(b"ga"))
    ga.heard(b"gw", tag30(b"gw"))
    rows = []
    for f in FRAMES + FRAMES:
        gc.collect()
        gc.disable()
        a0 = gc.mem_alloc()
        ok = ga.send(b"gw", f, len(f))
        a1 = gc.mem_alloc()
        n = await gw.recv_into(buf)
        a2 = gc.mem_alloc()
        s = gw.sender(None)
        gc.enable()
        rows.append({"frame": len(f), "ok": ok, "got": n, "from": s.decode(), "recv": a2 - a1,
                     "same": buf[:n] == f})
    noise = []
    for i, step in enumerate(PLAN):
        report("PUBLISH", step=i)
        gc.collect()
        gc.disable()
        a0 = gc.mem_alloc()
        n = await gw.recv_into(buf)
        a1 = gc.mem_alloc()
        s = gw.sender(None)
        gc.enable()
        noise.append({"step": i, "got": n, "from": s.decode(), "recv": a1 - a0,
                      "oversized": oversized(gw)})
    report("ALLOC", frames=rows, noise=noise, bits=64 if sys.maxsize > 2**31 else 32,
           counters=counters(gws, {b"ga": 0, b"gw": 0}))


async def slow():
    """gw alone, on the test's hand-made broker, which sends a 64 KB
    message slowly, then ga's frame, then stalls mid-message; a ticker
    measures the longest the loop was held."""
    g = MqttTransport("gw", "127.0.0.1", PORT, PREFIX, keepalive_s=2,
                      log=lambda line: print("LOG gw", line))
    got = []
    gap = [0]

    async def ticker():
        t = ticks_ms()
        while True:
            await asyncio.sleep_ms(10)
            now = ticks_ms()
            gap[0] = max(gap[0], ticks_diff(now, t))
            t = now

    async def reader():
        buf = bytearray(BUF)
        while True:
            n = await g.recv_into(buf)
            got.append([g.sender(None).decode(), n, crc32(memoryview(buf)[:min(n, BUF)])])

    asyncio.create_task(g.run())
    asyncio.create_task(reader())
    asyncio.create_task(ticker())
    up = await until(lambda: g.connects, 10000)
    gap[0] = 0
    report("UP", up=up)
    crossed = await until(lambda: any(s == "ga" for s, _, _ in got), 30000)
    report("SLOW", crossed=crossed, got=got, gap=gap[0], counters=counters({b"gw": g}, {b"gw": 0}))
    gap[0] = 0
    t0 = ticks_ms()
    dropped = await until(lambda: g.disconnects, 15000)
    report("STALLED", dropped=dropped, ms=ticks_diff(ticks_ms(), t0), gap=gap[0],
           counters=counters({b"gw": g}, {b"gw": 0}))


asyncio.run({"noise": noise, "alloc": alloc, "slow": slow}[MODE]())
sys.exit(0)

"""Bounded reads on the MQTT transport: a client on the broker without the
fleet key publishes, on the fleet's topics, messages longer than a frame
(251 bytes, 64 KB, 1 MB) and topics longer than any gateway's, between the
genuine frames of a gateway.  The gateways (host_tests/mqtt_bounded_gateway.py,
on both MicroPythons, the 32-bit one with a gateway's heap) must stay
connected, count what they refuse, keep receiving the frames sent after,
and allocate nothing of the outsider's length.  On every broker installed:
mosquitto and amqtt (the venv's)."""
import json
import os
from binascii import crc32
import queue
import shutil
import socket
import subprocess
import threading
import time

import pytest
from interp import BOTH, ROOT

import hostenv
from broker import Broker

UMQTT = os.path.join(os.path.dirname(ROOT), "shared", "micropython-lib", "umqtt.simple")
pytestmark = pytest.mark.skipif(not os.path.exists(os.path.join(UMQTT, "umqtt", "simple.py")),
                                reason="umqtt.simple is missing: %s" % UMQTT)
PREFIX = "ccrdt/9"
FRAME_MAX = 250
# What a 32-bit gateway has free once its node holds its state (the
# README's virtual fleet: 13 to 28 KB); the script fills its heap to this.
FREE = 24000


def _installed(kind):
    if kind == "mosquitto":
        return shutil.which("mosquitto") is not None
    return os.path.exists(hostenv.tool("amqtt"))


@pytest.fixture(params=[pytest.param(k, id=k, marks=pytest.mark.skipif(
    not _installed(k), reason="%s is not installed" % k)) for k in ("mosquitto", "amqtt")])
def broker(request):
    with Broker(kind=request.param) as b:
        yield b


def payload(size, seed=0):
    """size bytes with every value in it, MQTT packet types and length
    bytes included, so that a reader out of step would misread them."""
    return (bytes((seed + i) & 255 for i in range(256)) * (size // 256 + 1))[:size]


def topic(step):
    name = "x" * step["name"]
    return "%s/%s/%s" % (PREFIX, "b" if step["to"] == "b" else "u/gw", name)


class Outsider:
    """A paho-mqtt client with no fleet key: it can only publish noise."""

    def __init__(self, broker):
        import paho.mqtt.client as mqtt
        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="outsider")
        connected = threading.Event()
        c.on_connect = lambda *a: connected.set()
        c.connect(broker.host, broker.port)
        c.loop_start()
        assert connected.wait(10), "the outsider could not connect"
        self.client = c

    def publish(self, topic, data):
        self.client.publish(topic, data).wait_for_publish(60)

    def close(self):
        self.client.loop_stop()
        self.client.disconnect()


class Gateways:
    """mqtt_bounded_gateway.py MODE PLAN under interp with a gateway's heap."""

    def __init__(self, interp, mode, broker, plan, free=FREE):
        env = dict(os.environ, MICROPYPATH=":".join([hostenv.FIRMWARE, UMQTT, ".frozen"]))
        args = [os.path.join(ROOT, "host_tests", "mqtt_bounded_gateway.py"), mode,
                str(broker.port), PREFIX, json.dumps(plan), str(free)]
        self.proc = subprocess.Popen(
            hostenv.command(interp, hostenv.heap(interp)) + args, cwd=ROOT, env=env,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.lines = []
        self.q = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.q.put(line)
        self.q.put(None)

    def next(self, want, timeout=90):
        """The values of step want; the lines before it are kept."""
        t_end = time.monotonic() + timeout
        while True:
            try:
                line = self.q.get(timeout=max(0.0, t_end - time.monotonic()))
            except queue.Empty:
                raise AssertionError("no %s within %d s:\n%s" % (want, timeout, self.output()))
            if line is None:
                raise AssertionError("exited (%s) before %s:\n%s"
                                     % (self.proc.wait(), want, self.output()))
            self.lines.append(line)
            step, _, rest = line.partition(" ")
            if step == want:
                return json.loads(rest)

    def output(self):
        return "".join(self.lines[-60:])

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


def run_noise(interp, broker, plan):
    """Each step's report, and the last one."""
    gw, outsider = Gateways(interp, "noise", broker, plan), Outsider(broker)
    try:
        up = gw.next("UP")
        assert up["up"], gw.output()
        steps = []
        for i, step in enumerate(plan):
            assert gw.next("PUBLISH")["step"] == i
            data = payload(step["size"], i)
            for _ in range(step.get("count", 1)):
                outsider.publish(topic(step), data)
            steps.append(gw.next("STEP"))
        return steps, gw.next("END"), gw
    finally:
        outsider.close()
        gw.close()


def check_step(r, step, i, out):
    """gw (and ga, for broadcast noise) read the outsider's messages that
    have a gateway's topic, with their real length and what fits copied,
    and none of those with a longer topic; then ga's frame arrived (at ga
    too when it was a broadcast)."""
    assert r["reached"] and r["sent"] and r["crossed"], out
    data, count = payload(step["size"], i), step.get("count", 1)
    noise = [["x" * step["name"], step["size"], crc32(data[:FRAME_MAX + 1])]] * count
    if step["name"] > 16:
        noise = []
    assert r["got"]["gw"] == noise + [["ga"] + r["frame"]], out
    own = [["ga"] + r["frame"]] if i % 2 else []  # ga broadcast it: its own come back
    assert r["got"]["ga"] == (noise if step["to"] == "b" else []) + own, out


@pytest.mark.parametrize("interp", BOTH)
def test_oversized_messages_and_topics_are_skipped_counted_and_frames_go_on(interp, broker):
    plan = [
        {"to": "b", "name": 1, "size": FRAME_MAX + 1},
        {"to": "u", "name": 1, "size": 64 * 1024},
        {"to": "b", "name": 1, "size": 1 << 20},
        {"to": "b", "name": 300, "size": 10},  # a topic no gateway has, a short payload
        {"to": "u", "name": 60000, "size": 100},
        {"to": "b", "name": 1, "size": FRAME_MAX},  # a frame's length is no oversized one
    ]
    steps, end, gw = run_noise(interp, broker, plan)
    out = gw.output()
    for i, (step, r) in enumerate(zip(plan, steps)):
        check_step(r, step, i, out)
        for c in r["counters"].values():  # connected throughout, nothing raised to the reader
            assert (c["connects"], c["disconnects"], c["errors"]) == (1, 0, 0), (i, r, out)
    over = {"ga": 0, "gw": 0}
    for i, (step, r) in enumerate(zip(plan, steps)):
        # Each oversized message counted once, by the gateways it reached.
        big = step["size"] > FRAME_MAX or step["name"] > 16
        for n in ("gw", "ga") if step["to"] == "b" else ("gw",):
            over[n] += big
        assert {n: c["oversized"] for n, c in r["counters"].items()} == over, (i, r, out)
    assert all(c["send_errors"] == 0 for c in end["counters"].values()), end
    print("%s on %s: at least %d bytes of heap free after each step (filled to about %d)"
          % (hostenv.describe(interp), broker.kind, end["low"], FREE))


@pytest.mark.parametrize("interp", BOTH)
def test_a_sustained_flood_of_64k_messages_leaves_the_gateways_joined(interp, broker):
    plan = [{"to": "b", "name": 1, "size": 64 * 1024, "count": 10}]
    t0 = time.monotonic()
    steps, end, gw = run_noise(interp, broker, plan)
    check_step(steps[0], plan[0], 0, gw.output())
    for c in end["counters"].values():
        assert (c["connects"], c["disconnects"], c["errors"], c["oversized"]) == (1, 0, 0, 10), \
            (end, gw.output())
    print("%s on %s: 10 x 64 KB refused, then a frame crossed, in %.1f s"
          % (hostenv.describe(interp), broker.kind, time.monotonic() - t0))


@pytest.mark.parametrize("interp", BOTH)
def test_receiving_allocates_nothing_of_an_oversized_length(interp, broker):
    """The GC disabled around each recv_into(): a frame costs the same at
    every size (the call's coroutine and asyncio's wait for the socket), and
    an outsider's message or topic of any length a few of those."""
    plan = [{"to": "u", "name": 1, "size": n} for n in (FRAME_MAX + 1, 64 * 1024, 1 << 20)]
    plan += [{"to": "u", "name": n, "size": 10} for n in (300, 60000)]
    gw, outsider = Gateways(interp, "alloc", broker, plan), Outsider(broker)
    try:
        for i, step in enumerate(plan):
            assert gw.next("PUBLISH")["step"] == i
            outsider.publish(topic(step), payload(step["size"], i))
            if step["name"] > 16:  # skipped: a message recv_into() returns follows
                outsider.publish(topic({"to": "u", "name": 1}), payload(10, 99))
        r = gw.next("ALLOC")
    finally:
        outsider.close()
        gw.close()
    frames, noise = r["frames"], r["noise"]
    assert all(x["ok"] and x["got"] == x["frame"] and x["same"] and x["from"] == "ga"
               for x in frames), frames
    assert len({x["recv"] for x in frames}) == 1, frames
    per_frame = frames[0]["recv"]
    assert [(x["got"], x["from"]) for x in noise] == \
        [(s["size"], "x") for s in plan[:3]] + [(10, "x"), (10, "x")], noise
    assert [x["oversized"] for x in noise] == [1, 2, 3, 4, 5], noise
    # Far below the smallest of them but 251 bytes: the 1 MB one passes
    # through thousands of reads, and a wait for the socket midway costs
    # what a frame's does.
    assert all(x["recv"] < 4096 for x in noise), (per_frame, noise)
    c = r["counters"]
    assert all((v["connects"], v["disconnects"]) == (1, 0) for v in c.values()), c
    print("%s on %s: a frame's receive allocates %d bytes; an oversized message's %s"
          % (hostenv.describe(interp), broker.kind, per_frame, [x["recv"] for x in noise]))


class HandBroker:
    """A broker for one client, played by hand: it answers the gateway's
    CONNECT and each SUBSCRIBE (whether one holds both filters or there is
    one per filter), then sends what the test writes, at its pace; what the
    client sends afterwards (its pings) is read and left unanswered."""

    def __init__(self):
        self.srv = socket.socket()
        self.srv.bind(("127.0.0.1", 0))
        self.srv.listen(1)
        self.host, self.port = self.srv.getsockname()
        self.conn = None
        self.lock = threading.Lock()

    def accept(self):
        self.srv.settimeout(20)
        self.conn, _ = self.srv.accept()
        threading.Thread(target=self._serve, args=(self.conn.makefile("rb"),),
                         daemon=True).start()

    def _serve(self, f):
        try:
            while True:
                op, n, shift = f.read(1)[0], 0, 0
                while True:
                    b = f.read(1)[0]
                    n |= (b & 127) << shift
                    shift += 7
                    if not b & 128:
                        break
                body = f.read(n)
                if op == 0x10:  # CONNECT
                    self.send(b"\x20\x02\x00\x00")
                elif op == 0x82:  # SUBSCRIBE: granted QoS 0 for each filter
                    i, codes = 2, b""
                    while i < len(body):
                        i += 2 + int.from_bytes(body[i:i + 2], "big") + 1
                        codes += b"\x00"
                    self.send(bytes([0x90, 2 + len(codes)]) + body[:2] + codes)
        except (OSError, IndexError):
            pass

    def send(self, data):
        with self.lock:
            self.conn.sendall(data)

    def close(self):
        for s in (self.conn, self.srv):
            if s is not None:
                s.close()


def publish_packet(topic, size):
    """The head of a QoS 0 PUBLISH of a size-byte payload: all but the payload."""
    t = topic.encode()
    n, head = 2 + len(t) + size, b""
    while True:
        head += bytes([(n & 127) | (128 if n > 127 else 0)])
        n >>= 7
        if not n:
            return b"\x30" + head + len(t).to_bytes(2, "big") + t


@pytest.mark.parametrize("interp", BOTH)
def test_a_slow_or_stalled_broker_mid_message_does_not_hold_the_loop(interp):
    """A 64 KB message that takes 3 s to arrive, then a frame: the loop
    never waits for it (a task ticking every 10 ms is never held for long),
    the trickle keeps the connection alive and the frame arrives.  Then a
    message that stops halfway: the keepalive drops the connection."""
    hb = HandBroker()
    gw = None
    try:
        gw = Gateways(interp, "slow", hb, [], free=0)
        hb.accept()
        assert gw.next("UP")["up"], gw.output()
        data = payload(64 * 1024)
        hb.send(publish_packet(PREFIX + "/b/x", len(data)))
        for i in range(0, len(data), 2048):
            time.sleep(0.1)
            hb.send(data[i:i + 2048])
        frame = payload(10, 7)
        hb.send(publish_packet(PREFIX + "/b/ga", len(frame)) + frame)
        r = gw.next("SLOW")
        assert r["gap"] < 1000, r
        assert r["crossed"], gw.output()
        assert r["got"] == [["x", len(data), crc32(data[:FRAME_MAX + 1])],
                            ["ga", len(frame), crc32(frame)]], gw.output()
        c = r["counters"]["gw"]
        assert (c["connects"], c["disconnects"], c["oversized"]) == (1, 0, 1), (r, gw.output())
        hb.send(publish_packet(PREFIX + "/b/x", len(data)) + data[:100])
        s = gw.next("STALLED")
        assert s["dropped"] and "no answer to pings" in gw.output(), (s, gw.output())
        assert s["gap"] < 1000, s
        print("%s: the loop was held %d ms at most by a slow message, %d ms by a stalled one; "
              "dropped %d ms after the stall" % (hostenv.describe(interp), r["gap"], s["gap"],
                                                 s["ms"]))
    finally:
        if gw is not None:
            gw.close()
        hb.close()

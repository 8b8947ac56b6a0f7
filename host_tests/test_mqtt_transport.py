"""The MQTT transport (ccrdt.transport.mqtt) between gateways in a real
MicroPython process (host_tests/mqtt_gateways.py), 64- and 32-bit, through a
real broker (tools/broker.py) that is stopped, restarted and frozen under
it; a paho-mqtt client in this process watches the topics and plays an
outsider."""
import json
import os
import signal
import subprocess
import threading
import time

import pytest
from interp import BOTH, ROOT, TEST_HEAP

import hostenv

PREFIX = "ccrdt/7"


class Watcher:
    """A paho-mqtt client subscribed to PREFIX/#: every (topic, payload)."""

    def __init__(self, broker):
        import paho.mqtt.client as mqtt
        self.seen = []
        self.lock = threading.Lock()
        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="watcher")
        c.on_message = self._on_message
        subscribed = threading.Event()
        c.on_subscribe = lambda *a: subscribed.set()
        c.connect(broker.host, broker.port)
        c.subscribe(PREFIX + "/#")
        c.loop_start()
        assert subscribed.wait(10), "the watcher could not subscribe"
        self.client = c

    def _on_message(self, client, userdata, msg):
        with self.lock:
            self.seen.append((msg.topic, bytes(msg.payload), msg.retain, msg.qos))

    def take(self):
        with self.lock:
            out, self.seen = self.seen, []
        return out

    def close(self):
        self.client.loop_stop()
        self.client.disconnect()


class Gateways:
    """mqtt_gateways.py MODE running under interp; steps() yields
    (step, values) as it prints them."""

    def __init__(self, interp, mode, broker, tmp_path, lib):
        self.dir = str(tmp_path)
        env = dict(os.environ, MICROPYPATH=":".join([hostenv.FIRMWARE, lib, ".frozen"]))
        args = [os.path.join(ROOT, "host_tests", "mqtt_gateways.py"), mode, str(broker.port),
                PREFIX, self.dir]
        self.proc = subprocess.Popen(
            hostenv.command(interp, TEST_HEAP) + args,
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.lines = []

    def next(self, want, timeout=60):
        """The values of step want, the lines before it read and kept."""
        t_end = time.monotonic() + timeout
        for line in self.proc.stdout:
            self.lines.append(line)
            step, _, rest = line.partition(" ")
            if step == want:
                return json.loads(rest) if rest.strip() else {}
            assert time.monotonic() < t_end, \
                "no %s within %d s:\n%s" % (want, timeout, self.output())
        raise AssertionError("exited (%s) before %s:\n%s"
                             % (self.proc.wait(), want, self.output()))

    def go(self, step):
        open(os.path.join(self.dir, step), "w").close()

    def output(self):
        return "".join(self.lines)

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


def frames(got):
    """{receiver: [(sender, payload, length)]} from a report."""
    return {k: [(s, bytes.fromhex(h), n) for s, h, n in v] for k, v in got.items()}


@pytest.mark.parametrize("interp", BOTH)
def test_frames_flow_between_gateways_and_survive_a_broker_restart(interp, broker, tmp_path,
                                                                   umqtt_lib):
    watcher = Watcher(broker)
    gw = Gateways(interp, "flow", broker, tmp_path, umqtt_lib)
    try:
        r = gw.next("BASIC")
        assert r["up"], gw.output()
        f = {k: bytes.fromhex(v) for k, v in r["frames"].items()}
        got, c = frames(r["got"]), r["counters"]
        # ga's broadcast reached gb, gc and ga itself (so a twin given its name
        # is heard too; a node's gossip knows its own frames by their tag);
        # ga's unicast to gb reached gb alone; gb answered the name sender()
        # gave and heard() kept.
        assert got["gb"] == [("ga", f["F1"], 250), ("ga", f["F2"], 120)], gw.output()
        assert got["gc"] == [("ga", f["F1"], 250)], gw.output()
        assert got["ga"] == [("ga", f["F1"], 250), ("gb", f["F3"], len(f["F3"]))], gw.output()
        assert r["sent"] == [True, True, True]
        assert [c[n]["peers"] for n in ("ga", "gb", "gc")] == [["gb"], ["ga"], ["ga"]]
        assert c["ga"]["sent"] == 3 and c["gb"]["sent"] == 1 and c["gc"]["sent"] == 0
        assert all(c[n]["send_errors"] == 0 and c[n]["connects"] == 1 for n in c)
        # On the broker: exactly the frames, on the documented topics.
        seen = watcher.take()
        assert [(t, p) for t, p, _, _ in seen] == [
            (PREFIX + "/b/ga", f["F1"]), (PREFIX + "/u/gb/ga", f["F2"]),
            (PREFIX + "/u/ga/gb", f["F3"]), (PREFIX + "/s/ga", f["S1"])]
        assert all(not retain for _, _, retain, _ in seen)

        # An outsider's payloads are frames like any other, delivered to all;
        # 251 bytes shows as oversized, 300 as 300 with what fits copied.
        garbage, over, huge = b"\xde\xad not a frame", bytes(range(251)), bytes(300)
        gw.next("OUTSIDER")
        for p in (garbage, over, huge):
            watcher.client.publish(PREFIX + "/b/x", p).wait_for_publish(5)
        gw.go("OUTSIDER")
        r = gw.next("OUTSIDER_GOT")
        want = [("x", garbage, len(garbage)), ("x", over, 251), ("x", huge[:251], 300)]
        assert frames(r["got"]) == {"ga": want, "gb": want, "gc": want}, gw.output()
        assert all("x" not in v["peers"] for v in r["counters"].values())
        watcher.take()

        gw.next("STOPPED")
        watcher.close()
        broker.stop()
        gw.go("STOPPED")
        r = gw.next("OUTAGE")
        c = r["counters"]
        assert r["down"] and r["results"] == [False, False, False], gw.output()
        assert c["ga"]["send_errors"] == 2 and c["gb"]["send_errors"] == 1
        assert all(c[n]["disconnects"] == 1 for n in c)
        gw.next("RESTARTED")
        broker.start()
        watcher = Watcher(broker)
        gw.go("RESTARTED")
        r = gw.next("AFTER")
        c = r["counters"]
        assert r["back"], gw.output()
        assert all(c[n]["connects"] == 2 and c[n]["disconnects"] == 1 for n in c), c
        assert r["results"] == [True, True]
        # Resubscribed: frames flow again; those of the outage never arrive.
        got = frames(r["got"])
        assert got["gb"] == [("ga", b"back-bcast", 10), ("ga", b"back-uni", 8)], gw.output()
        assert got["gc"] == [("ga", b"back-bcast", 10)]
        assert got["ga"] == [("ga", b"back-bcast", 10)]
        assert [(t, p) for t, p, _, _ in watcher.take()] == [
            (PREFIX + "/b/ga", b"back-bcast"), (PREFIX + "/u/gb/ga", b"back-uni")]
        print("reconnected %d ms after the broker came back (%s)" % (r["reconnect_ms"],
                                                                     hostenv.describe(interp)))
    finally:
        gw.close()
        watcher.close()


@pytest.mark.parametrize("interp", BOTH)
def test_a_broker_that_stops_answering_is_dropped_and_rejoined(interp, broker, tmp_path,
                                                               umqtt_lib):
    """SIGSTOP keeps the TCP connections open but silent: only the
    keepalive (keepalive_s=2 here) can notice, and connect attempts meanwhile
    must time out instead of hanging."""
    gw = Gateways(interp, "freeze", broker, tmp_path, umqtt_lib)
    try:
        gw.next("FROZEN")
        os.kill(broker.proc.pid, signal.SIGSTOP)
        try:
            gw.go("FROZEN")
            r = gw.next("DROPPED")
            assert r["up"] and r["dropped"], gw.output()
            # Silence for more than keepalive_s since the last answer, which
            # came at most keepalive_s / 2 before the freeze (pings go out then).
            assert 1000 <= r["ms"] <= 3000, r
            time.sleep(3)  # attempts at the frozen broker, each timing out
        finally:
            os.kill(broker.proc.pid, signal.SIGCONT)
        gw.next("THAWED")
        gw.go("THAWED")
        r = gw.next("THAWED_GOT")
        assert r["back"], gw.output()
        assert frames(r["got"])["fb"] == [("fa", b"\x00reply/+#\xff", 10)], gw.output()
        assert all(v["connects"] >= 2 and v["disconnects"] >= 1 for v in r["counters"].values())
        assert "no answer to pings" in gw.output()
    finally:
        gw.close()


@pytest.mark.parametrize("interp", BOTH)
def test_heap_allocated_per_frame(interp, broker, tmp_path,
                                  umqtt_lib):
    """GC disabled: sender() and heard() of a known gateway allocate
    nothing; sending allocates what umqtt's publish does plus one memoryview;
    receiving allocates the same for every frame of a size (nothing kept)."""
    gw = Gateways(interp, "alloc", broker, tmp_path, umqtt_lib)
    try:
        r = gw.next("ALLOC")
    finally:
        gw.close()
    rows = r["rows"]
    assert all(x["ok"] and x["got"] == x["n"] and x["from"] == "ma" for x in rows), rows
    assert all(x["sender_heard"] == 0 for x in rows), rows
    assert all(x["send"] == x["publish_alone"] for x in rows), rows
    full = [x["recv_into"] for x in rows if x["n"] == 250]
    assert len(set(full)) == 1, rows
    print("%s: per frame received %s bytes (10/100/250-byte frames), sent %d bytes"
          % (hostenv.describe(interp), [x["recv_into"] for x in rows[:3]], rows[0]["send"]))

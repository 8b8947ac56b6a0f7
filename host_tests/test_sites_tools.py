"""The host tools against a real two-site fleet: six MicroPython processes
in two ESP-NOW sites whose gateways (n00, n03) meet through a real broker
(tools/fleet.py).  The Home Assistant bridge, fleet_state.py and
monitor.py --broker run as real processes at the same time, started while
the workload still changes the state; a paho subscriber of the test reads
the bridge's retained topics.  Everything is compared with the state the
six boards wrote to their flash at the end.

A last event keeps the run (and its broker: a fleet stops it when its run
ends) up until LATE s, so the tools can catch up with the last change."""
import asyncio
import json
import os
import subprocess
import sys
import threading
import time

import pytest

import fleet as fleet_tool
from mqttclient import connect

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
P = "ccrdt/1"
DURATION = 6  # seconds of workload changes
START = 2.0  # the tools start then, the workload still running
LATE = DURATION + 7
STABLE = 2.0  # fleet_state prints the fleet converged on one state this long


def tool(name, *args):
    return [sys.executable, os.path.join(ROOT, "tools", name)] + list(args)


class Run:
    """What the test sees during the fleet's run, in seconds since its start."""

    def __init__(self, f, out):
        self.f, self.out = f, out
        self.lock = threading.Lock()
        self.ha = []  # (t, P/ha/fleet payload) as they arrived
        self.last = {}  # topic -> its last payload
        self.own = {}  # node -> (own counters, t the STATUS first carrying them arrived)
        self.hashes = []  # (t, the set of state hashes in the six boards' latest STATUS)
        self.procs = {}
        self.exited = {}
        self.waiters = {}
        self.sub = None

    def t(self, monotonic=None):
        return (time.monotonic() if monotonic is None else monotonic) - self.f.t0

    def watch(self, f):
        """An event every 0.1 s: the last change of each board's own
        counters, from the STATUS frames the fleet's monitor receives over
        UDP from all six boards (one every 0.3 s each)."""
        for s in f.mon.nodes.values():
            own = (s["own_satisfied"], s["own_violations"])
            if self.own.get(s["name"], (None,))[0] != own:
                self.own[s["name"]] = (own, self.t(s["seen"]))
        if len(f.mon.nodes) == len(f.names):
            self.hashes.append((self.t(), set("%08x" % s["hash"] for s in f.mon.nodes.values())))

    def agreed_at(self, h):
        """When the six boards' STATUS last began to agree on h."""
        t = None
        for when, hashes in self.hashes:
            t = (t or when) if hashes == {h} else None
        return t

    def _message(self, topic, payload, retained):
        with self.lock:
            self.last[topic] = payload
            if topic == P + "/ha/fleet" and payload:
                self.ha.append((self.t(), json.loads(payload)))

    def _spawn(self, name, cmd):
        log = open(os.path.join(self.out, name + ".out"), "w")
        self.procs[name] = p = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        log.close()

        def wait():
            p.wait()
            self.exited[name] = self.t()
        self.waiters[name] = threading.Thread(target=wait, daemon=True)
        self.waiters[name].start()

    def start_tools(self, f):
        host, port = f.broker.host, f.broker.port
        where = ["--broker", "%s:%d" % (host, port), "--key", f.key_path]
        self.sub = connect(host, port, ["homeassistant/#", P + "/ha/#"], self._message)
        self._spawn("bridge", tool("ha_bridge.py", *where))
        self._spawn("fleet_state", tool("fleet_state.py", *where, "--wait", str(LATE - START - 2),
                                        "--stable", str(STABLE)))
        self._spawn("monitor", tool("monitor.py", *where))

    def start_late_monitor(self, f):
        """One more monitor, once the bridge has retained its topics."""
        self._spawn("monitor_late", tool("monitor.py", "--broker", "%s:%d" % (
            f.broker.host, f.broker.port), "--key", f.key_path))

    def stop_tools(self, f):
        for name in ("bridge", "monitor", "monitor_late"):
            self.procs[name].terminate()

    def output(self, name):
        self.procs[name].wait(20)
        self.waiters[name].join(5)
        with open(os.path.join(self.out, name + ".out")) as fh:
            return fh.read()


@pytest.mark.usefixtures("umqtt_lib")  # the gateways' MQTT client: a skip if it is missing
def test_bridge_fleet_state_and_monitor_on_a_real_two_site_fleet(tmp_path, broker):
    f = fleet_tool.Fleet(6, DURATION, seed=3, root=str(tmp_path / "fleet"), gossip_ms=200,
                         snapshot_ms=500, status_ms=300, log=lambda *a: None, sites=2,
                         broker=broker)
    r = Run(f, str(tmp_path))
    events = [(k / 10, r.watch) for k in range(LATE * 10)]
    events += [(START, r.start_tools), (DURATION + 2, r.start_late_monitor), (LATE, r.stop_tools)]
    try:
        s = asyncio.run(asyncio.wait_for(f.run(events, settle_timeout=40), 120))
    finally:
        for p in r.procs.values():
            if p.poll() is None:
                p.kill()
        if r.sub is not None:
            r.sub.loop_stop()
            r.sub.disconnect()
    assert not s["problems"], s["problems"]
    assert s["converged"] and s["snapshots_equal"] and s["counts_match"], s
    final = f.snapshots()[0]
    want = {"hash": "%08x" % final.state_hash(),
            "constraints": sorted(final.constraints.active_constraints()),
            "satisfied": final.metrics.total_satisfied(),
            "violations": final.metrics.total_violations()}
    assert want["satisfied"] > 0 and len(want["constraints"]) == s["constraints"] > 0

    # fleet_state, started while the workload ran, printed the final state
    fs_out = r.output("fleet_state")
    assert r.procs["fleet_state"].returncode == 0, fs_out
    got = json.loads(fs_out[fs_out.index("{"):])
    assert got["converged"] is True
    got["constraints"].sort()
    assert dict((k, got[k]) for k in want) == want, got
    assert sorted(got["gateways"]) == ["n00", "n03"]
    assert all(g["hash"] == want["hash"] for g in got["gateways"].values())
    assert sorted(got["status"]) == ["n00", "n03"]
    assert all(st["hash"] == want["hash"] for st in got["status"].values())
    assert len(got["boards"]) == 6
    assert sum(b["satisfied"] for b in got["boards"].values()) == want["satisfied"]
    assert sum(b["violations"] for b in got["boards"].values()) == want["violations"]
    assert got["rejected"] == 0 and got["status_refused"] == 0

    # the monitors saw both gateways' STATUS frames agree on the final hash,
    # and refused nothing: not even the bridge's retained topics, which
    # amqtt sends to a client that connects whatever it subscribed
    for name in ("monitor", "monitor_late"):
        lines = r.output(name).splitlines()
        assert any("2 nodes reporting, 2 agree on %s" % want["hash"] in x for x in lines), lines
        assert all(" 0 frames refused" in x for x in lines if x.startswith("monitor:")), lines

    # the bridge's retained topics hold the final state
    bridge_out = r.output("bridge")
    assert "connected to the broker" in bridge_out and "lost" not in bridge_out, bridge_out
    with r.lock:
        last = dict((t, v) for t, v in r.last.items() if v)
        ha = list(r.ha)
    fleet = json.loads(last[P + "/ha/fleet"])
    assert fleet["hash"] == want["hash"] and fleet["converged"] == "ON", fleet
    assert fleet["constraints"] == len(want["constraints"])
    assert (fleet["satisfied"], fleet["violations"]) == (want["satisfied"], want["violations"])
    total = want["satisfied"] + want["violations"]
    assert fleet["rate"] == round(100 * want["satisfied"] / total, 1)
    assert fleet["gateways"] == ["n00", "n03"] and fleet["status_senders"] == 2
    assert fleet["rejected"] == 0
    constraints = [t for t in last if t.startswith(P + "/ha/constraint/")]
    assert sorted(bytes.fromhex(t.rsplit("/", 1)[1]).decode() for t in constraints) \
        == want["constraints"]
    assert all(last[t] == b"ON" for t in constraints)
    boards = [json.loads(v) for t, v in last.items() if t.startswith(P + "/ha/board/")]
    assert len(boards) == 6
    assert sum(b["satisfied"] for b in boards) == want["satisfied"]
    assert sum(b["violations"] for b in boards) == want["violations"]
    assert last[P + "/ha/status"] == b"offline"  # it stopped at LATE, cleanly

    # how long after the last change the tools agreed with the fleet
    last_change = max(t for _, t in r.own.values())
    assert last_change < LATE - 3  # the workload's end, not a board that was late
    bridge_hash = next(t for t, v in ha if v["hash"] == want["hash"])
    bridge_on = next(t for t, v in ha if v["hash"] == want["hash"] and v["converged"] == "ON")
    fs_converged = r.exited["fleet_state"] - STABLE
    boards = r.agreed_at(want["hash"])
    after = dict((k, (t - last_change, t - last_change + 0.3)) for k, t in (
        ("boards", boards), ("bridge_hash", bridge_hash), ("bridge_on", bridge_on),
        ("fleet_state", fs_converged)))
    print("\nafter the last change (made within 0.3 s before its STATUS arrived at t=%.2f s): "
          "all six boards' STATUS on the final hash %+.2f..%+.2f s; the bridge's final hash "
          "%+.2f..%+.2f s, its converged ON %+.2f..%+.2f s; fleet_state converged on it "
          "%+.2f..%+.2f s (printed %.0f s later, --stable); through the broker: %d frames, "
          "%d bytes in a %.1f s run"
          % ((last_change,) + after["boards"] + after["bridge_hash"] + after["bridge_on"]
             + after["fleet_state"] + (STABLE, s["broker_frames"], s["broker_bytes"], f.wall)))
    assert 0 < bridge_on - last_change < 5
    assert 0 < fs_converged - last_change < 5

"""The fleet through a real MQTT broker: the observer, the Home Assistant
bridge, fleet_state and the monitor as real processes, against two CPython
stand-ins of the MQTT gateway (host_tests/standin_gateway.py), checked by a
separate paho subscriber."""

import json
import os
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone

import pytest
from standin_gateway import StandInGateway

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

from broker import Broker  # noqa: E402
from ha_bridge import Bridge  # noqa: E402
from mqttclient import connect  # noqa: E402

from ccrdt.gossip import GossipNode  # noqa: E402
from ccrdt.state import origin_tag  # noqa: E402
from drive import ping  # noqa: E402

KEY = bytes(range(16))
P = "ccrdt/1"
DOOR_CONFIG = "homeassistant/binary_sensor/ccrdt_1_constraint_%s/config" % b"door".hex()
STALE_CONFIG = "homeassistant/binary_sensor/ccrdt_1_constraint_%s/config" % b"gone".hex()
STALE_PAYLOAD = json.dumps({"name": "Constraint gone",  # as this fleet's bridge published it
                            "state_topic": P + "/ha/constraint/" + b"gone".hex()}).encode()


def wait_for(cond, timeout, what):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = cond()
        if v:
            return v
        time.sleep(0.05)
    raise AssertionError("timed out after %.0f s waiting for %s" % (timeout, what))


class Subscriber:
    """A paho client of its own that keeps the last payload of every topic."""

    def __init__(self, host, port, topics):
        self.lock = threading.Lock()
        self.last = {}
        self.client = connect(host, port, topics, self._message)
        wait_for(self.client.is_connected, 10, "the subscriber to connect")

    def _message(self, topic, payload, retained):
        with self.lock:
            self.last[topic] = payload

    def get(self, topic):
        with self.lock:
            return self.last.get(topic)

    def json(self, topic):
        v = self.get(topic)
        return json.loads(v) if v else None

    def under(self, prefix):
        with self.lock:
            return dict((t, v) for t, v in self.last.items() if t.startswith(prefix) and v)

    def close(self):
        self.client.loop_stop()
        self.client.disconnect()


def published(sub, n):
    """{topic: config} once n discovery configs and the state topic each
    names have arrived, else None."""
    configs = dict((t, json.loads(v)) for t, v in sub.under("homeassistant/").items())
    if len(configs) == n and all(sub.get(c["state_topic"]) for c in configs.values()):
        return configs
    return None


def tool(name, *args):
    return [sys.executable, os.path.join(ROOT, "tools", name)] + list(args)


def start(name, broker, key):
    """A host tool watching the broker, as a process whose output is read."""
    return subprocess.Popen(
        tool(name, "--broker", "%s:%d" % (broker.host, broker.port), "--key", key),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@pytest.fixture(scope="module")
def site(tmp_path_factory, broker_kind):
    key_path = tmp_path_factory.mktemp("key") / "fleet.key"
    key_path.write_text(KEY.hex() + "\n")
    with Broker(kind=broker_kind) as b:
        gws = [StandInGateway(n, KEY, b.host, b.port) for n in ("gw-a", "gw-b")]
        with gws[0].lock:
            gws[0].node.add_constraint("temp<40")
            gws[0].node.record_satisfied(10)
            gws[0].node.record_violations(2)
        with gws[1].lock:
            gws[1].node.add_constraint("door")
            gws[1].node.record_satisfied(5)
            gws[1].node.record_violations(1)
        # the gateways agree with each other before anything is observed
        wait_for(
            lambda: (
                len(set(hash_of(g) for g in gws)) == 1
                and gws[0].node.state.constraints.contains("door")
            ),
            20,
            "the two gateways to converge",
        )
        try:
            yield b, gws, str(key_path)
        finally:
            for g in gws:
                g.close()


def hash_of(gw):
    with gw.lock:
        return "%08x" % gw.node.state_hash()


def fleet_hash(gws):
    hashes = set(hash_of(g) for g in gws)
    return hashes.pop() if len(hashes) == 1 else None


def board_values(gw, name):
    with gw.lock:
        m = gw.node.state.metrics
        return m.node_satisfied(name), m.node_violations(name)


def test_bridge_publishes_the_converged_fleet_and_follows_it(site):
    b, gws, key = site
    sub = Subscriber(b.host, b.port, ["homeassistant/#", P + "/ha/#"])
    # left retained by an earlier run: a constraint the fleet no longer has
    sub.client.publish(
        STALE_CONFIG, STALE_PAYLOAD, qos=1, retain=True
    ).wait_for_publish(5)
    bridge = start("ha_bridge.py", b, key)
    try:
        h = fleet_hash(gws)
        fleet = wait_for(
            lambda: (
                (sub.json(P + "/ha/fleet") or {}).get("hash") == h and sub.json(P + "/ha/fleet")
            ),
            20,
            "the bridge to publish the gateways' hash",
        )
        fleet = wait_for(
            lambda: sub.json(P + "/ha/fleet")["converged"] == "ON" and sub.json(P + "/ha/fleet"),
            10,
            "the bridge to call the fleet converged",
        )
        assert fleet["hash"] == h
        assert fleet["constraints"] == 2
        assert (fleet["satisfied"], fleet["violations"]) == (15, 3)
        assert fleet["rate"] == 83.3
        assert fleet["gateways"] == ["gw-a", "gw-b"] and fleet["status_senders"] == 2
        assert sub.get(P + "/ha/status") == b"online"
        wait_for(
            lambda: sub.get(STALE_CONFIG) == b"", 5, "the stale retained config to be cleared"
        )

        # Every config read below, and the state each names: the bridge
        # sends a report's configs before its states, but what a broker
        # delivers to another client need not keep one client's order.
        configs = wait_for(lambda: published(sub, 6 + 2 + 2 * 3), 10,
                           "the fleet's, both constraints' and both boards' configs and states")
        constraints = [
            c for c in configs.values() if c["unique_id"].startswith("ccrdt_1_constraint_")
        ]
        assert sorted(c["name"] for c in constraints) == ["Constraint door", "Constraint temp<40"]
        for c in constraints:
            assert sub.get(c["state_topic"]) == b"ON"
            assert c["device"]["identifiers"] == ["ccrdt_1"]
        fleet_entities = dict(
            (c["unique_id"], c)
            for c in configs.values()
            if c["device"]["identifiers"] == ["ccrdt_1"]
        )
        for uid in (
            "converged",
            "active_constraints",
            "satisfaction_rate",
            "satisfied",
            "violations",
            "rejected",
        ):
            c = fleet_entities["ccrdt_1_" + uid]
            assert (
                c["state_topic"] == P + "/ha/fleet" and c["availability_topic"] == P + "/ha/status"
            )
        assert fleet_entities["ccrdt_1_satisfaction_rate"]["unit_of_measurement"] == "%"

        boards = [c for c in configs.values() if "via_device" in c["device"]]
        assert sorted(set(c["device"]["name"] for c in boards)) == ["ccrdt gw-a", "ccrdt gw-b"]
        assert len(boards) == 6 and all(c["device"]["via_device"] == "ccrdt_1" for c in boards)
        for name in ("gw-a", "gw-b"):
            state = sub.json("%s/ha/board/%s" % (P, name.encode().hex()))
            assert state["name"] == name
            assert (state["satisfied"], state["violations"]) == board_values(gws[0], name)
            seen = datetime.strptime(state["last_seen"], "%Y-%m-%dT%H:%M:%SZ").replace(
                tzinfo=timezone.utc
            )
            assert abs(datetime.now(timezone.utc) - seen).total_seconds() < 30
        assert (
            sorted(c["name"] for c in boards if c.get("device_class") == "timestamp")
            == ["Last seen"] * 2
        )

        # The observer records nothing: no row, no name in any node table.
        for g in gws:
            with g.lock:
                assert "ha-bridge" not in g.node.state.nodes()
                assert origin_tag(b"ha-bridge") not in dict(g.node.state.clock().entries())
                assert len(g.node.state.nodes()) == 2

        # Frames without the key, of another fleet, or no frame at all:
        # refused, counted, nothing changes.
        outsider = GossipNode("x", bytes(16))
        outsider.add_constraint("evil")
        outsider.record_violations(1000)
        other_fleet = GossipNode("x", KEY, fleet=2)
        other_fleet.add_constraint("evil")
        for frame in (ping(outsider), ping(other_fleet), b"\xcc garbage"):
            sub.client.publish(P + "/b/x", frame).wait_for_publish(5)
        fleet = wait_for(
            lambda: sub.json(P + "/ha/fleet")["rejected"] == 3 and sub.json(P + "/ha/fleet"),
            10,
            "three frames counted as rejected",
        )
        assert fleet["hash"] == h and fleet["constraints"] == 2 and fleet["violations"] == 3
        assert fleet["gateways"] == ["gw-a", "gw-b"]

        # A constraint removed at one site: its entity goes away.
        t0 = time.monotonic()
        with gws[1].lock:
            gws[1].node.remove_constraint("door")
        wait_for(
            lambda: sub.get(DOOR_CONFIG) == b"",
            10,
            "the removed constraint's config to be emptied",
        )
        removed_s = time.monotonic() - t0
        assert sub.get("%s/ha/constraint/%s" % (P, b"door".hex())) == b""
        fleet = wait_for(
            lambda: sub.json(P + "/ha/fleet")["converged"] == "ON" and sub.json(P + "/ha/fleet"),
            10,
            "convergence after the removal",
        )
        converged_s = time.monotonic() - t0
        assert fleet["constraints"] == 1 and fleet["hash"] == fleet_hash(gws)

        # A constraint and checks added at the other site appear.
        t0 = time.monotonic()
        with gws[0].lock:
            gws[0].node.add_constraint("hum<80")
            gws[0].node.record_violations(7)
        new_config = "homeassistant/binary_sensor/ccrdt_1_constraint_%s/config" % b"hum<80".hex()
        wait_for(lambda: sub.get(new_config), 10, "the new constraint's config")
        added_s = time.monotonic() - t0
        fleet = wait_for(
            lambda: sub.json(P + "/ha/fleet")["violations"] == 10 and sub.json(P + "/ha/fleet"),
            10,
            "the new violations",
        )
        assert fleet["rate"] == round(100 * 15 / 25, 1)
        state = sub.json("%s/ha/board/%s" % (P, b"gw-a".hex()))
        assert (state["satisfied"], state["violations"]) == (10, 9)
        print(
            "bridge: a removal shown in %.2f s (converged again in %.2f s), an addition in %.2f s"
            % (removed_s, converged_s, added_s)
        )
    finally:
        bridge.terminate()
        out = bridge.communicate(timeout=10)[0]
        print(out)
    wait_for(
        lambda: sub.get(P + "/ha/status") == b"offline",
        5,
        "availability offline after the bridge stops",
    )
    sub.close()


def report(constraints, boards):
    """A report as Observer.report() makes it, for the bridge alone."""
    return {"converged": True, "hash": "00000001", "constraints": constraints, "rate": 1.0,
            "satisfied": 1, "violations": 0, "rejected": 0, "gateways": {"gw-a": {}},
            "status": {}, "boards": dict((b, {"satisfied": 1, "violations": 0,
                                             "last_seen": None}) for b in boards)}


def test_bridge_sends_configs_before_states_and_clears_configs_first():
    bridge = Bridge(P, 1)
    sent = []

    def publish(topic, payload, retain, qos):
        assert retain and qos == 1
        sent.append((topic.startswith("homeassistant/"), payload != b""))
    assert bridge.sync(report(["door", "temp<40"], ["gw-a", "gw-b"]), publish) == (len(sent), 0)
    # every config, then every state: a reader of a state finds its config sent
    assert sent == sorted(sent, reverse=True) and sent[0][0] and not sent[-1][0], sent
    del sent[:]
    # door: its config and state; gw-b: its three configs and its state
    assert bridge.sync(report(["temp<40"], ["gw-a"]), publish)[1] == 2 + 4
    cleared = [config for config, payload in sent if not payload]
    assert cleared == sorted(cleared, reverse=True) and cleared[0] and not cleared[-1], sent


def test_fleet_state_prints_what_the_gateways_hold(site):
    b, gws, key = site
    r = subprocess.run(
        tool(
            "fleet_state.py", "--broker", "%s:%d" % (b.host, b.port), "--key", key, "--wait", "15"
        ),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout)
    with gws[0].lock:
        st = gws[0].node.state
        want = {
            "hash": "%08x" % st.state_hash(),
            "constraints": st.constraints.active_constraints(),
            "satisfied": st.metrics.total_satisfied(),
            "violations": st.metrics.total_violations(),
            "boards": sorted(st.nodes()),
        }
    assert got["converged"] is True
    assert dict((k, got[k]) for k in ("hash", "constraints", "satisfied", "violations")) == dict(
        (k, want[k]) for k in ("hash", "constraints", "satisfied", "violations")
    )
    assert sorted(got["boards"]) == want["boards"] == ["gw-a", "gw-b"]
    for name, v in got["boards"].items():
        assert (v["satisfied"], v["violations"]) == board_values(gws[0], name)
    assert sorted(got["gateways"]) == ["gw-a", "gw-b"]
    assert all(g["hash"] == want["hash"] for g in got["gateways"].values())
    assert (
        all(s["hash"] == want["hash"] for s in got["status"].values()) and len(got["status"]) == 2
    )
    for g in gws:
        with g.lock:
            assert "fleet-state" not in g.node.state.nodes()


def test_fleet_state_says_when_no_gateway_is_heard(site):
    b, _, key = site
    t0 = time.monotonic()
    r = subprocess.run(
        tool(
            "fleet_state.py",
            "--broker",
            "%s:%d" % (b.host, b.port),
            "--key",
            key,
            "--fleet",
            "2",
            "--wait",
            "2",
        ),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 1 and r.stdout == ""
    assert "no gateway heard" in r.stderr and "ccrdt/2/" in r.stderr
    assert 2 <= time.monotonic() - t0 < 20


def test_monitor_watches_status_frames_through_the_broker(site):
    b, gws, key = site
    mon = start("monitor.py", b, key)
    try:
        h = fleet_hash(gws)
        for _ in range(10):
            line = mon.stdout.readline()
            if "2 nodes reporting, 2 agree on %s" % h in line:
                break
        else:
            raise AssertionError("the monitor never saw both gateways agree; last line: %r" % line)
    finally:
        mon.terminate()
        mon.wait(10)


def test_the_observer_takes_boards_of_any_name():
    # A name is any UTF-8 a board with the key sends, '#' first included:
    # rows are read by slot, not by parsing what a name looks like.
    from drive import exchange
    from observer import Observer
    obs = Observer(KEY)
    for name, n in (("#zz", 3), ("#0000abcd", 4), ("plain", 5)):
        b = GossipNode(name, KEY)
        b.record_satisfied(n)
        exchange(b, obs.node)
    rows = obs.rows()
    assert (rows["#zz"], rows["#0000abcd"], rows["plain"]) == ((3, 0), (4, 0), (5, 0)), rows
    assert obs.report()["boards"]["#zz"]["satisfied"] == 3


def test_ids_are_one_per_prefix_constraint_and_board():
    names = ["door", "temp<40", "temp>40", "Temp<40", "temp_40", "temp-40", "temp_40_h1cc24e2c",
             "#zz"]
    r = report(names, ["n-1", "n_1", "N 1", "#0000abcd"])
    configs = [json.loads(v) for t, v in Bridge(P, 1).topics(r).items()
               if t.startswith("homeassistant/")]
    uids = [c["unique_id"] for c in configs]
    entity_ids = [c["default_entity_id"] for c in configs]
    assert len(set(uids)) == len(uids) == len(set(entity_ids)) == 6 + len(names) + 3 * 4
    assert "binary_sensor.ccrdt_1_constraint_door" in entity_ids  # clean ids are kept
    assert "sensor.ccrdt_1_n_1_satisfied" in entity_ids  # n-1; n_1 is hashed
    bases = [Bridge(p, 1).uid for p in ("ccrdt/1", "ccrdt-1", "ccrdt_1", "ccrdt/01", "CCRDT/1",
                                        "ccrdt/1/ha/x")]
    assert bases[0] == "ccrdt_1" and len(set(bases)) == len(bases), bases


def test_a_bridge_claims_nothing_of_another_fleets_on_one_broker():
    # Prefixes whose slugs agree, or one under another's topics: each bridge
    # takes back (and would clear) only what it published itself.
    bridges = [Bridge(p, 1) for p in ("ccrdt/1", "ccrdt-1", "ccrdt/1/ha/x")]
    published = [b.topics(report(["door"], ["gw-a"])) for b in bridges]
    for i, b in enumerate(bridges):
        for j, topics in enumerate(published):
            for t, v in topics.items():
                assert b.ours(t, v) == (i == j), (b.base, t)
    assert not bridges[0].ours(P + "/ha/status", b"online")  # its last will: never cleared
    assert not bridges[0].ours("homeassistant/sensor/x/config", b"not json")

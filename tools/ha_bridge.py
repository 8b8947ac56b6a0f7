"""The fleet in Home Assistant, through MQTT discovery.

    python tools/ha_bridge.py --broker host:port --key build/fleet.key [--fleet 1]
        [--discovery homeassistant] [--name ha-bridge] [--interval 1]

A host process beside the broker, not a job for the gateway board: a gateway
keeps about 13 KB of heap free, and would have to build a JSON discovery
config for every board and every constraint; the host has the fleet key and
the room, and the firmware stays one binary codec.  The bridge is an
observer (``tools/observer.py``: the firmware's GossipNode on CPython,
read-only, named "ha-bridge" on the topics) and publishes what changed
since the last time, all retained, as soon as a message changes the state
or its convergence, and after each round of pings (every --interval, 1 s):

    <discovery>/<component>/<uid>_<entity>/config   discovery configs (JSON)
    P/ha/fleet                  {"converged": "ON", "hash": ..., "constraints": 3,
                                 "rate": 83.3, "satisfied": 15, "violations": 3,
                                 "rejected": 0, ...}
    P/ha/board/<hex of name>    {"name": ..., "satisfied": ..., "violations": ...,
                                 "last_seen": ISO 8601 or null}
    P/ha/constraint/<hex of id> "ON"
    P/ha/status                 "online", or "offline" (also the broker's last will)

P is the fleet's topic prefix (ccrdt/<fleet>) and uid its part of every
unique and entity id (``ident``: ccrdt_1 for ccrdt/1).  Ids are injective:
a prefix other than ccrdt/<n>, and a constraint id or board name other
than lower-case letters and digits joined by hyphens (gw-a: gw_a), gets
"_h" and 8 hex digits of its hash after its slug, so ccrdt/1 and ccrdt-1,
or temp<40 and temp>40, never share one.
What is this bridge's on the broker is told by the state topic under P/ha/
(in a config, its state_topic), never by an id's prefix: two fleets'
bridges on one broker clear nothing of each other's.
One device for the fleet, one per board (``via_device`` the fleet).  An
entity whose board or constraint is gone gets an empty retained config,
which removes it from Home Assistant; so do entities retained on the broker
by an earlier run that the fleet no longer has.  Nothing is published until
a gateway has confirmed the observer's state once, so a bridge that starts
on an empty state removes nothing.  docs/home-assistant.md lists the
entities and a dashboard card.
"""
import argparse
import json
import re
import signal
import sys
import time

from observer import Link, add_arguments, observer_from

from ccrdt import fnv

_PLAIN = re.compile("[a-z0-9]+(-[a-z0-9]+)*$")  # kept, hyphens as underscores
_HASHED = re.compile(".*_h[0-9a-f]{8}$")  # what hashed() makes, never kept as it is
_DEFAULT_PREFIX = re.compile("ccrdt/([0-9]+)$")
_HEX = re.compile("([0-9a-f]{2})+$")


def slug(text):
    """Lower-case letters, digits and underscores: what an entity id holds."""
    return re.sub("[^a-z0-9]+", "_", text.lower()).strip("_") or "x"


def hashed(text):
    """text's slug, "_h" and 8 hex digits of its FNV-1a hash."""
    b = text.encode()
    return "%s_h%08x" % (slug(text), fnv.hash30(b, 0, len(b)))


def ident(text):
    """text as a part of unique and entity ids, one per text: lower-case
    letters and digits, joined by hyphens, are kept with underscores for
    the hyphens (gw-a: gw_a); anything else (an underscore included, so
    that gw_a is not gw-a) is hashed(text), as is what would look hashed."""
    kept = text.replace("-", "_")
    return kept if _PLAIN.match(text) and not _HASHED.match(kept) else hashed(text)


def prefix_ident(prefix):
    """The fleet's id part: ccrdt_<n> for the default prefix ccrdt/<n> (as
    0.2.0 named it, so entity ids stay), else hashed(prefix): no other
    prefix can make ccrdt_<n>."""
    m = _DEFAULT_PREFIX.match(prefix)
    return "ccrdt_" + m.group(1) if m else hashed(prefix)


def hexkey(text):
    """A topic level and unique-id part for any board name or constraint id."""
    return text.encode().hex()


def dumps(obj):
    return json.dumps(obj, sort_keys=True).encode()


# The fleet device's entities, on P/ha/fleet: component, unique id suffix,
# name, JSON field, more config.
TOTAL = {"state_class": "total_increasing"}
FLEET_ENTITIES = (
    ("binary_sensor", "converged", "Converged", "converged", {}),
    ("sensor", "active_constraints", "Active constraints", "constraints",
     {"state_class": "measurement"}),
    ("sensor", "satisfaction_rate", "Satisfaction rate", "rate",
     {"unit_of_measurement": "%", "state_class": "measurement", "suggested_display_precision": 1}),
    ("sensor", "satisfied", "Satisfied checks", "satisfied", TOTAL),
    ("sensor", "violations", "Violations", "violations", TOTAL),
    ("sensor", "rejected", "Frames rejected", "rejected",
     dict(TOTAL, entity_category="diagnostic")),
)
# Each board device's sensors, on P/ha/board/<hex of its name>: JSON field, name, more config.
BOARD_ENTITIES = (
    ("satisfied", "Satisfied checks", TOTAL),
    ("violations", "Violations", TOTAL),
    ("last_seen", "Last seen", {"device_class": "timestamp"}),
)


class Bridge:
    """What Home Assistant should hold for a fleet report, and publishing
    only the difference."""

    def __init__(self, prefix, fleet, discovery="homeassistant"):
        self.discovery = discovery
        self.base = prefix + "/ha"
        self.uid = prefix_ident(prefix)
        self.availability = self.base + "/status"
        self.fleet_device = {"identifiers": [self.uid], "name": "ccrdt fleet %s" % fleet,
                             "manufacturer": "ccrdt", "model": "replicated constraint state"}
        self.retained = {}  # topic -> payload that the broker keeps for this fleet (None: unsure)
        self.started = False
        self.online = False  # "online" published on this connection

    def subscriptions(self):
        """Retained topics of an earlier run are read back, to clear those gone since."""
        return [self.discovery + "/+/+/config", self.base + "/#"]

    def ours(self, topic, payload):
        """True if the retained topic is one this bridge publishes: a state
        under P/ha/, or a discovery config whose state topic is one."""
        parts = topic.split("/")
        if len(parts) == 4 and parts[0] == self.discovery and parts[3] == "config":
            try:
                topic = json.loads(payload).get("state_topic")
            except (ValueError, AttributeError):  # not a config of ours, whatever it is
                return False
        return isinstance(topic, str) and self._own_state(topic)

    def _own_state(self, topic):
        head = self.base + "/"
        rest = topic[len(head):].split("/") if topic.startswith(head) else []
        return rest == ["fleet"] or (len(rest) == 2 and rest[0] in ("constraint", "board")
                                     and _HEX.match(rest[1]) is not None)

    def connected(self):
        """A broker that restarted may have lost what it kept: publish it all again."""
        self.retained = dict.fromkeys(self.retained)
        self.online = False

    def heard(self, topic, payload, retained):
        if not self.started and retained and payload and self.ours(topic, payload):
            self.retained[topic] = payload

    def _entity(self, out, component, key, name, state_topic, device, field=None, **extra):
        uid = "%s_%s" % (self.uid, key)
        config = {"name": name, "unique_id": uid, "default_entity_id": "%s.%s" % (component, uid),
                  "state_topic": state_topic, "availability_topic": self.availability,
                  "device": device}
        if field:
            config["value_template"] = "{{ value_json.%s }}" % field
        config.update(extra)
        out["%s/%s/%s/config" % (self.discovery, component, uid)] = dumps(config)

    def topics(self, r):
        """topic -> retained payload for the report r of Observer.report()."""
        out = {}
        fleet = self.base + "/fleet"
        out[fleet] = dumps({"converged": "ON" if r["converged"] else "OFF", "hash": r["hash"],
                            "constraints": len(r["constraints"]),
                            "rate": round(100 * r["rate"], 1),
                            "satisfied": r["satisfied"], "violations": r["violations"],
                            "rejected": r["rejected"], "gateways": sorted(r["gateways"]),
                            "status_senders": len(r["status"])})
        for component, key, name, field, extra in FLEET_ENTITIES:
            self._entity(out, component, key, name, fleet, self.fleet_device, field, **extra)
        for cid in r["constraints"]:
            state = "%s/constraint/%s" % (self.base, hexkey(cid))
            out[state] = b"ON"
            entity_id = "binary_sensor.%s_constraint_%s" % (self.uid, ident(cid))
            self._entity(out, "binary_sensor", "constraint_" + hexkey(cid), "Constraint " + cid,
                         state, self.fleet_device, default_entity_id=entity_id)
        for board, values in r["boards"].items():
            h = hexkey(board)
            state = "%s/board/%s" % (self.base, h)
            out[state] = dumps(dict(values, name=board))
            device = {"identifiers": ["%s_board_%s" % (self.uid, h)], "name": "ccrdt " + board,
                      "manufacturer": "ccrdt", "model": "board", "via_device": self.uid}
            for field, name, extra in BOARD_ENTITIES:
                entity_id = "sensor.%s_%s_%s" % (self.uid, ident(board), field)
                self._entity(out, "sensor", "board_%s_%s" % (h, field), name, state, device, field,
                             default_entity_id=entity_id, **extra)
        return out

    def _is_config(self, topic):
        return topic.startswith(self.discovery + "/")

    def sync(self, report, publish):
        """Publish what differs from what the broker keeps; clear what is
        gone.  Configs go first both ways: an entity is removed before its
        state is cleared (it never shows an empty state), and announced
        before its state is published, so whoever reads a state (the fleet's
        "converged") finds every config of that report already sent.
        Returns (published, cleared) counts."""
        self.started = True
        want = self.topics(report)
        configs_first = dict(key=self._is_config, reverse=True)  # stable: order kept otherwise
        gone = sorted(set(self.retained) - set(want), **configs_first)
        for t in gone:
            publish(t, b"", retain=True, qos=1)
            del self.retained[t]
        changed = [t for t in sorted(want, **configs_first) if self.retained.get(t) != want[t]]
        for t in changed:
            publish(t, want[t], retain=True, qos=1)
            self.retained[t] = want[t]
        return len(changed), len(gone)


def main(argv=None):
    ap = argparse.ArgumentParser(
        description="Publish a ccrdt fleet to Home Assistant by MQTT discovery.")
    add_arguments(ap, "ha-bridge")
    ap.add_argument("--discovery", default="homeassistant",
                    help="discovery prefix (default %(default)s)")
    ap.add_argument("--interval", type=float, default=1.0,
                    help="seconds between pings and updates (default %(default)s)")
    a = ap.parse_args(argv)
    obs = observer_from(a, "ha_bridge")
    bridge = Bridge(obs.prefix, a.fleet, a.discovery)
    link = Link(obs, *a.broker, other=bridge.heard, subscriptions=bridge.subscriptions(),
                will=(bridge.availability, b"offline"), on_connect=bridge.connected,
                log=lambda line: print("ha_bridge: " + line, flush=True))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print("ha_bridge: %s on %s:%d as %r, discovery under %s/"
          % (obs.prefix, a.broker[0], a.broker[1], a.name, a.discovery), flush=True)
    next_ping = 0
    try:
        while True:
            if time.monotonic() >= next_ping:
                link.ping()
                obs.status.save()
                next_ping = time.monotonic() + a.interval
            # A change is published at once, the rest of its frames given
            # 50 ms to arrive.
            if link.news.wait(max(0, next_ping - time.monotonic())):
                time.sleep(0.05)
                link.news.clear()
            with link.lock:
                if not obs.synced:
                    continue
                report = obs.report()
                if not bridge.online:
                    link.publish(bridge.availability, b"online", retain=True, qos=1)
                    bridge.online = True
                published, cleared = bridge.sync(report, link.publish)
            if published or cleared:
                print("ha_bridge: hash %s converged %s: %d topics published, %d cleared"
                      % (report["hash"], report["converged"], published, cleared), flush=True)
    except KeyboardInterrupt:
        pass
    finally:
        try:
            link.publish(bridge.availability, b"offline", retain=True, qos=1).wait_for_publish(2)
        except (RuntimeError, ValueError):  # no broker now: its last will says it
            pass
        link.close()
        obs.status.save()


if __name__ == "__main__":
    main()

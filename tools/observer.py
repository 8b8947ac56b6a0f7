"""The fleet as seen through the MQTT broker: a read-only member on the host.

    python tools/observer.py --broker 127.0.0.1:1883 --key build/fleet.key [--fleet 1]

prints the fleet's state as JSON once a second (``tools/fleet_state.py``
prints it once; ``tools/ha_bridge.py`` publishes it to Home Assistant).

The observer is the firmware's own ``GossipNode`` run on CPython, so frames
are checked, parsed and joined by the code the boards run and the state hash
is theirs.  Topics, under the prefix P (``ccrdt/<fleet>`` by default):

    P/b/<name>        frames gateway <name> broadcasts: heard, joined
    P/u/<to>/<from>   unicast: the observer reads P/u/<its name>/+ and
                      pings every gateway it has heard on P/u/<gw>/<its name>
    P/s/<name>        STATUS frames, tracked per sender (``monitor.Monitor``)

It records nothing of its own, so it never takes a slot in any node table;
like any member it answers what it is asked with what it holds.  Two
observers at once need two names: the name is part of their topics.

**Converged**, at a moment t, with the window N (``--window``, 5 s):

* at least one gateway has been heard (an authentic frame) in the last N s;
* every gateway heard in the last N s has, in the last N s, reported (in an
  ACK or a PING sent to the observer) a state hash equal to the observer's
  state hash at t;
* every node whose STATUS arrived in the last N s reports that hash in its
  latest STATUS.

The observer pings each gateway every second, so a fleet that has settled
is reported converged about a second after the last change reaches it.
Gateways silent for N s drop out of the definition (and are pinged no more
until heard again).
"""
import argparse
import json
import signal
import sys
import threading
import time

import hostenv  # noqa: F401  (puts the firmware on the path)

from monitor import Monitor, add_seen_argument, seen_from
from mqttclient import broker_address, broker_problem, connect, default_prefix

from ccrdt import wire
from ccrdt.config import ConfigError, read_key
from ccrdt.gossip import CHANGED, GossipNode
from ccrdt.proto import ACK, PING


def wall(monotonic_t):
    """A time.monotonic() reading as wall-clock seconds."""
    return time.time() - (time.monotonic() - monotonic_t)


def iso(wall_t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(wall_t)) if wall_t else None


class Gateway:
    """What the observer knows of one gateway, named by its topics."""

    def __init__(self):
        self.heard = 0.0  # last fresh authentic frame, monotonic
        self.tag = -1  # the gateway's own tag, from its answers: the observer's pings echo it
        self.hash = None  # last state hash it reported to the observer
        self.hash_at = 0.0


class Observer:
    def __init__(self, key, fleet=1, name="observer", prefix=None, window=5.0, seen=None):
        self.node = GossipNode(name, key, fleet)
        self.name = name
        self.fleet = fleet
        self.prefix = prefix or default_prefix(fleet)
        self.window = window
        self.status = Monitor(key, fleet, seen)  # seen: see monitor.Monitor
        self.gateways = {}
        self.synced = False  # some gateway has once reported the observer's hash
        self._rows = {}  # board -> (satisfied, violations) last seen here
        self._changed = {}  # board -> wall time its counters last changed here
        self._tx = bytearray(wire.FRAME_MAX)

    def subscriptions(self):
        p = self.prefix
        return [p + "/b/+", p + "/u/%s/+" % self.name, p + "/s/+"]

    # ---- frames in ------------------------------------------------------
    def take(self, topic, payload, publish):
        """One message; publish(topic, bytes) sends the answers.  False if
        the topic is none of the observer's."""
        head = self.prefix + "/"
        parts = topic[len(head):].split("/") if topic.startswith(head) else []
        if len(parts) == 2 and parts[0] == "s":
            self.status.take(payload, topic)
        elif parts[0:1] == ["b"] and len(parts) == 2:
            self._gossip(parts[1], payload, False, publish)
        elif parts[0:2] == ["u", self.name] and len(parts) == 3:
            self._gossip(parts[2], payload, True, publish)
        else:
            return False
        return True

    def _gossip(self, sender, frame, unicast, publish):
        node = self.node
        back = "%s/u/%s/%s" % (self.prefix, sender, self.name)
        result = node.handle(frame, len(frame), lambda buf, n: publish(back, bytes(buf[:n])))
        if node.fresh_tag < 0:
            return  # refused, counted in node.rejected(), or its own echo
        now = time.monotonic()
        gw = self.gateways.setdefault(sender, Gateway())
        gw.heard = now
        if unicast:  # from the gateway itself (its broadcasts pass on others' frames)
            gw.tag = node.fresh_tag
        # Only a unicast PING or an ACK tells the sender's hash to this node.
        # (A gateway's broadcasts may be other boards' frames, passed on.)
        if unicast and wire.kind(frame) in (PING, ACK):
            gw.hash, gw.hash_at = node.peer_hash(wire.sender(frame)), now
            self.synced = self.synced or gw.hash == node.state_hash()
        if result & CHANGED:
            self._note_rows()

    def _note_rows(self):
        """A board's counters moved: it is alive.  What the observer learns
        before its first exchange completes is history, not activity."""
        now = time.time()
        for board, row in self.rows().items():
            old = self._rows.get(board)
            if old != row and (old is not None or self.synced):
                self._changed[board] = now
            self._rows[board] = row

    # ---- frames out -----------------------------------------------------
    def ping(self, publish):
        """Ping every gateway heard within the window."""
        now = time.monotonic()
        for name, gw in self.gateways.items():
            if now - gw.heard <= self.window:
                n = self.node.ping_into(self._tx, False, gw.tag)
                publish("%s/u/%s/%s" % (self.prefix, name, self.name), bytes(self._tx[:n]))

    # ---- what it holds --------------------------------------------------
    def live_gateways(self):
        now = time.monotonic()
        return dict((k, g) for k, g in self.gateways.items() if now - g.heard <= self.window)

    def converged(self):
        """See the module's docstring."""
        now, h = time.monotonic(), self.node.state_hash()
        gws = self.live_gateways().values()
        return (bool(gws) and all(g.hash == h and now - g.hash_at <= self.window for g in gws)
                and all(s["hash"] == h for s in self.status.live(self.window).values()))

    def rows(self):
        """board -> (satisfied, violations).  A board is keyed by its name
        once some PING told the fleet it (every incarnation summed), else by
        its origin tag as '#' and 8 hex digits."""
        st = self.node.state
        m, t = st.metrics, st.node_table
        out = {}
        for i in range(t.count):  # by slot: a name may itself begin with '#'
            b = t.name(i)
            out[b] = ((m.node_satisfied(b), m.node_violations(b)) if t.has_name(i)
                      else m.origin(t.tags[i]))
        return out

    def last_seen(self, board):
        """Wall time the board was last seen active: its counters changed
        here, or a STATUS of it arrived.  None before either happened."""
        seen = [wall(s["seen"]) for s in self.status.nodes.values() if s["name"] == board]
        return max(seen + [self._changed.get(board, 0)]) or None

    def report(self):
        """The fleet's state as a JSON-ready dict."""
        st, now = self.node.state, time.monotonic()
        h = st.state_hash()
        m = st.metrics
        return {
            "fleet": self.fleet, "prefix": self.prefix, "observer": self.name,
            "hash": "%08x" % h, "converged": self.converged(),
            "constraints": st.constraints.active_constraints(),
            "satisfied": m.total_satisfied(), "violations": m.total_violations(),
            "rate": st.satisfaction_rate(),
            "boards": dict((b, {"satisfied": s, "violations": v,
                                "last_seen": iso(self.last_seen(b))})
                           for b, (s, v) in sorted(self.rows().items())),
            "gateways": dict((k, {"hash": None if g.hash is None else "%08x" % g.hash,
                                  "heard_s_ago": round(now - g.heard, 1)})
                             for k, g in sorted(self.live_gateways().items())),
            "status": dict((s["name"], {"hash": "%08x" % s["hash"],
                                        "age_s": round(now - s["seen"], 1)})
                           for s in sorted(self.status.live(self.window).values(),
                                           key=lambda s: s["name"])),
            "rejected": self.node.rejected(), "status_refused": self.status.refused,
        }


# ---- the MQTT link --------------------------------------------------------
class Link:
    """An observer on a broker.  Every call into the observer (messages
    from paho's thread, pings, reports) holds self.lock: GossipNode is not
    made for two threads."""

    def __init__(self, observer, host, port, other=None, subscriptions=(), will=None,
                 on_connect=None, log=None):
        """other(topic, payload, retained): messages that are not the
        observer's, on the extra subscriptions; on_connect(): after every
        (re)connection; log(line): the connection coming and going."""
        self.observer = observer
        self.host, self.port = host, port
        self.log = log
        self.connected_once = False
        self.lock = threading.Lock()
        self.other = other
        self._on_connect = on_connect
        self.news = threading.Event()  # set when the state hash or convergence changed
        self._seen = None
        self.client = connect(host, port, observer.subscriptions() + list(subscriptions),
                              self._message, will=will, on_connect=self._connected,
                              name=observer.name, on_disconnect=self._disconnected)

    def publish(self, topic, payload, retain=False, qos=0):
        return self.client.publish(topic, payload, qos=qos, retain=retain)

    def _connected(self):
        if self.log:
            self.log("%s the broker on %s:%d" % ("reconnected to" if self.connected_once
                                                  else "connected to", self.host, self.port))
        self.connected_once = True
        if self._on_connect:
            with self.lock:
                self._on_connect()

    def _disconnected(self, reason):
        if self.log:
            self.log("lost the broker on %s:%d (%s); retrying" % (self.host, self.port, reason))

    def problem(self):
        """None while connected, else why not (see broker_problem)."""
        if self.client.is_connected():
            return None
        return broker_problem(self.host, self.port)

    def _message(self, topic, payload, retained):
        with self.lock:
            obs = self.observer
            if not obs.take(topic, payload, self.publish):
                if self.other:
                    self.other(topic, payload, retained)
                return
            seen = (obs.node.state_hash(), obs.converged())
            if seen != self._seen:
                self._seen = seen
                self.news.set()

    def ping(self):
        with self.lock:
            self.observer.ping(self.publish)

    def report(self):
        with self.lock:
            return self.observer.report()

    def close(self):
        self.log = None  # going away is no news
        self.client.loop_stop()
        self.client.disconnect()


def add_arguments(ap, name):
    ap.add_argument("--broker", type=broker_address, required=True,
                    help="host:port of the MQTT broker")
    ap.add_argument("--key", required=True, help="fleet key file")
    ap.add_argument("--fleet", type=int, default=1)
    ap.add_argument("--prefix", help="topic prefix (default ccrdt/<fleet>)")
    ap.add_argument("--name", default=name,
                    help="this member's name on the topics (default %(default)s)")
    ap.add_argument("--window", type=float, default=5.0,
                    help="seconds within which gateways and STATUS senders count"
                    " (default %(default)s)")
    add_seen_argument(ap)


def observer_from(a, tool):
    """The Observer the arguments describe; a key or seen file that is
    not one ends the tool with one line, named by tool."""
    try:
        key = read_key(a.key)
        return Observer(key, a.fleet, a.name, a.prefix, a.window, seen_from(a, key))
    except (ConfigError, OSError, ValueError) as e:
        sys.exit("%s: %s" % (tool, e))


def main():
    ap = argparse.ArgumentParser(description="Hold a ccrdt fleet's state through an MQTT broker.")
    add_arguments(ap, "observer")
    a = ap.parse_args()
    obs = observer_from(a, "observer")
    link = Link(obs, *a.broker,
                log=lambda line: print("observer: " + line, file=sys.stderr, flush=True))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # the finally below runs
    try:
        while True:
            link.ping()
            time.sleep(1)
            obs.status.save()
            print(json.dumps(link.report()), flush=True)
    except KeyboardInterrupt:
        pass
    finally:
        link.close()
        obs.status.save()


if __name__ == "__main__":
    main()

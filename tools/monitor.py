"""Live monitor of a fleet: a passive, authenticated listener of STATUS frames.

    python tools/monitor.py --key build/fleet/fleet.key --port 47999 [--fleet 1]
    python tools/monitor.py --key build/fleet.key --broker host:port [--fleet 1] [--prefix ccrdt/1]

over UDP (frames sent to --port), or through an MQTT broker, where nodes
with an MQTT transport publish them on <prefix>/s/<name>.

It checks every frame's AES-CMAC with the fleet key (frames of other fleets,
with a bad tag or not a STATUS frame are counted and ignored) and shows one
row per node.  Besides counters and hashes it shows what each node refused:
frames its gossip layer rejected, by reason; local operations its
application was refused or that wait on a refused commit; a full node or
constraint table.  On a terminal the table is live (rich); otherwise it
prints a line per second, naming the nodes that refuse something.

A STATUS frame is taken once: the monitor keeps every board's newest frame
in a file (``--seen``, by default in ~/.cache/ccrdt, one per fleet and key),
so that after a restart a recorded frame still moves nothing.
"""
import argparse
import asyncio
import itertools
import json
import os
import signal
import sys
import time

import hostenv  # noqa: F401  (puts the firmware on the path)

from ccrdt import gossip, proto, wire
from ccrdt.boot import owner
from ccrdt.config import ConfigError, read_key
from ccrdt.fresh import WINDOW, Senders
from ccrdt.layout import TAG_LIMIT
from ccrdt.status import parse
from mqttclient import broker_address, broker_problem, connect, default_prefix

# Short names of the reasons a frame is rejected (codes of wire and gossip);
# a code not listed here shows as its number.
REASONS = {wire.BAD_SIZE: "size", wire.BAD_MAGIC: "magic", wire.BAD_VERSION: "version",
           wire.OTHER_FLEET: "other fleet", wire.BAD_MAC: "bad MAC",
           gossip.MALFORMED: "malformed", gossip.NO_ROOM: "no room",
           gossip.UNKNOWN_KIND: "unknown type", gossip.BAD_NAME: "bad name",
           proto.REPLAYED: "replayed", proto.NOT_FOR_ME: "for another board"}
_SENDERS = 1024  # boards (incarnations) whose STATUS replay windows a monitor keeps
_SAVE_EVERY = 1.0  # seconds between writes of the seen file while frames arrive


def seen_file(key, fleet):
    """The default file of the newest frames a monitor has seen: one per
    fleet and key (named by the key's check value, which reveals nothing)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "ccrdt", "seen-%s.json" % owner(fleet, wire.Cmac(key), b"").hex())


def refusals(s):
    """What a node's status says it refused or cannot hold, as short phrases."""
    out = []
    for what, n, cap in (("node", s["nodes"], s["max_nodes"]),
                         ("constraint", s["constraints"], s["max_constraints"])):
        if cap is not None and n >= cap:
            out.append("%s table full (%d)" % (what, cap))
            if what == "node" and s.get("repeated"):  # a version 4 STATUS says it
                out[-1] += (", %d of its slots held by names with several (boards replaced "
                            "or reflashed, or given one name)" % s["repeated"])
    if s["rejected"]:
        by = ", ".join("%s %d" % (REASONS.get(r, "reason %d" % r), c)
                       for r, c in enumerate(s["rejected_by"] or [], 1) if c)
        out.append("%d frames rejected%s" % (s["rejected"], " (%s)" % by if by else ""))
    if s["refused_ops"]:
        out.append("%d operations refused" % s["refused_ops"])
    if s["held_ops"]:
        out.append("%d held by the commit" % s["held_ops"])
    if s["clashes"]:
        out.append("its name is used by another board (%d pings)" % s["clashes"])
    if s["own_claims"]:
        out.append("%d parts claimed more of it than it issued" % s["own_claims"])
    if s["withheld"]:
        out.append("%d answers withheld from unvalidated senders" % s["withheld"])
    return out


def duration(seconds):
    """Uptime as days, hours and minutes."""
    m = seconds // 60
    return "%dd %02dh %02dm" % (m // 1440, m // 60 % 24, m % 60)


def add_seen_argument(ap):
    ap.add_argument("--seen", help="file that keeps each board's newest STATUS across restarts "
                    "(default: ~/.cache/ccrdt/seen-<fleet and key>.json; 'off': not kept)")


def seen_from(a, key):
    """The seen file the arguments name (None: 'off')."""
    return None if a.seen == "off" else a.seen or seen_file(key, a.fleet)


class Monitor(asyncio.DatagramProtocol):
    """seen: the file that keeps each board's newest STATUS across restarts
    (None: kept in memory only).  A file that is not one raises ValueError."""

    def __init__(self, key, fleet=1, seen=None):
        self.framer = wire.Framer(key, fleet, 0)
        self.fresh = Senders(_SENDERS)  # a STATUS seen before moves nothing
        self.seen = seen
        self._newest = {}  # tag -> (epoch, sequence) of its newest STATUS, least recent first
        self._saved = 0.0
        self._save_failed = False
        self._dirty = False
        if seen:
            self._load(seen)
        # sender tag (a board, one incarnation of it) -> latest status, plus
        # rx rate: two boards given one name show as two rows
        self.nodes = {}
        self.refused = 0
        self.last_refusal = None  # why the last datagram was not a status
        self.note = None  # shown first in the table and the lines: the source is away

    def datagram_received(self, data, addr):
        self.take(data, "%s:%d" % addr[:2])

    def take(self, data, source):
        """One frame that arrived from source (an address, a topic):
        authenticated and parsed, or counted as refused."""
        code = self.framer.check(data, len(data))
        if code == wire.OK and self.fresh.admit(wire.sender(data), wire.epoch(data),
                                                wire.seq(data), len(data)) < 0:
            code = proto.REPLAYED
        try:
            if code != wire.OK:
                raise ValueError("frame rejected: %s" % REASONS.get(code, code))
            s = parse(data, len(data))
            frame = (wire.epoch(data), wire.seq(data))
            old = self.nodes.get(s["tag"])
            if old and frame < old["frame"]:
                # Not seen, but older than the one shown (lost on the way
                # here, and sent again by someone): the view never goes back.
                raise ValueError("frame rejected: older than the STATUS shown")
        except ValueError as e:
            self.refused += 1
            self.last_refusal = "%s from %s" % (e, source)
            return
        now = time.monotonic()
        self._note_newest(s["tag"], frame, now)
        s["frame"] = frame
        s["seen"] = now
        s["rx_rate"] = 0.0
        if old and now > old["seen"] and s["rx"] >= old["rx"]:
            s["rx_rate"] = (s["rx"] - old["rx"]) / (now - old["seen"])
        self.nodes[s["tag"]] = s

    def _note_newest(self, tag, frame, now):
        self._newest[tag] = max(self._newest.pop(tag, (0, 0)), frame)
        if len(self._newest) > _SENDERS:
            del self._newest[next(iter(self._newest))]
        self._dirty = True
        if now - self._saved >= _SAVE_EVERY:
            self.save()

    def save(self):
        """Write the seen file if frames were taken since it was last
        written (the tools call it every second and at exit; a kill -9 loses
        at most the last second).  Atomic, a crash leaves the old file; the
        rows another tool sharing the file wrote are kept, the newest frame
        of each board winning.  A file that cannot be written is said once
        on stderr, and the monitor goes on."""
        if not self.seen or not self._dirty:
            return
        self._saved = time.monotonic()
        self._dirty = False
        tmp = "%s.%d.tmp" % (self.seen, os.getpid())
        try:
            rows = dict(self._newest)
            try:
                theirs = self._read(self.seen)  # another tool's rows, since
            except ValueError:
                theirs = {}  # broken since it was read: written anew
            for tag, frame in theirs.items():
                rows[tag] = max(rows.get(tag, frame), frame)
            os.makedirs(os.path.dirname(os.path.abspath(self.seen)), exist_ok=True)
            with open(tmp, "w") as f:
                json.dump({"newest": [[t, e, q] for t, (e, q) in rows.items()]}, f)
            os.replace(tmp, self.seen)
        except OSError as e:
            if not self._save_failed:
                print("monitor: cannot keep %s (%s): after a restart each board's last STATUS "
                      "would be taken once more" % (self.seen, e), file=sys.stderr, flush=True)
            self._save_failed = True

    @staticmethod
    def _read(path):
        """tag -> (epoch, sequence) of a seen file ({} if there is none);
        ValueError if it is not one."""
        if not os.path.exists(path):
            return {}
        out = {}
        try:
            with open(path) as f:
                rows = json.load(f)["newest"]
            for tag, epoch, seq in rows:
                if not (0 <= tag < TAG_LIMIT and 0 <= epoch <= 0xFFFF and 0 < seq < TAG_LIMIT):
                    raise ValueError("a row out of range: %r" % ([tag, epoch, seq],))
                out[tag] = (epoch, seq)
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise ValueError("%s is not a monitor's file of frames seen (%s); remove it to start "
                             "anew (each board's last STATUS is then taken once more)"
                             % (path, e)) from None
        return out

    def _load(self, path):
        """Take back the newest frames of a seen file: each board's last
        WINDOW sequence numbers up to its newest count as seen."""
        self._newest.update(self._read(path))
        for tag, (epoch, seq) in self._newest.items():
            for q in range(max(1, seq - WINDOW + 1), seq + 1):
                self.fresh.admit(tag, epoch, q, 0)

    def live(self, max_age=5.0):
        now = time.monotonic()
        return dict((k, v) for k, v in self.nodes.items() if now - v["seen"] <= max_age)

    def named(self, max_age=5.0):
        """name -> the latest live status under that name."""
        out = {}
        for v in sorted(self.live(max_age).values(), key=lambda v: v["seen"]):
            out[v["name"]] = v
        return out

    def converged(self, names):
        """True if every named node reported recently, no live board has
        changes under way (workload, uncommitted) and all their
        hashes agree."""
        live = list(self.live().values())
        return (set(names) <= set(v["name"] for v in live) and not any(v["flags"] for v in live)
                and len(set(v["hash"] for v in live)) == 1)

    def majority_hash(self):
        hashes = [v["hash"] for v in self.live().values()]
        return max(set(hashes), key=hashes.count) if hashes else None

    def table(self):
        from rich.table import Table
        t = Table(title="%sccrdt fleet (%d nodes reporting, %s)"
                  % (self.note + "; " if self.note else "", len(self.live()), self._refused()))
        for col in ("node", "nodes", "constraints", "satisfied", "violations", "rate", "hash",
                    "converged", "frames/s", "uptime", "heap free", "refused"):
            t.add_column(col, justify="left" if col in ("node", "hash", "refused") else "right")
        common = self.majority_hash()
        for s in sorted(self.nodes.values(), key=lambda v: (v["name"], v["tag"])):
            total = s["satisfied"] + s["violations"]
            rate = s["satisfied"] / total if total else 1.0
            nodes = _of(s["nodes"], s["max_nodes"]) + (
                " (%d repeated)" % s["repeated"] if s.get("repeated") else "")
            t.add_row(s["name"], nodes,
                      _of(s["constraints"], s["max_constraints"]),
                      str(s["satisfied"]), str(s["violations"]), "%.3f" % rate, "%08x" % s["hash"],
                      "yes" if s["hash"] == common else "no", "%.0f" % s["rx_rate"],
                      duration(s["uptime_ms"] // 1000 if s["uptime_s"] is None else s["uptime_s"]),
                      str(s["heap_free"]), "; ".join(refusals(s)) or "-")
        return t

    def line(self):
        common = self.majority_hash()
        agree = sum(1 for v in self.live().values() if v["hash"] == common)
        trouble = ["%s: %s" % (s["name"], ", ".join(refusals(s)))
                   for s in sorted(self.live().values(), key=lambda v: v["name"]) if refusals(s)]
        return "monitor: %s%d nodes reporting, %d agree on %s, %s%s" % (
            self.note + "; " if self.note else "", len(self.live()), agree,
            "%08x" % common if common is not None else "-",
            self._refused(), "; " + "; ".join(trouble) if trouble else "")

    def _refused(self):
        """The datagrams this monitor refused, with why for the last one."""
        return "%d frames refused%s" % (
            self.refused, " (last: %s)" % self.last_refusal if self.refused else "")


def _of(n, cap):
    return str(n) if cap is None else "%d/%d" % (n, cap)


async def listen(monitor, port, host="127.0.0.1"):
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(lambda: monitor, local_addr=(host, port))
    return transport


def watch_broker(monitor, host, port, prefix):
    """Feed monitor the STATUS frames published on prefix/s/<name> (in the
    running event loop); returns the paho client.  Messages on other topics
    are not STATUS frames and are left alone: amqtt (0.12) sends a client
    that connects the retained messages of every client's subscriptions,
    such as the Home Assistant bridge's."""
    loop = asyncio.get_running_loop()
    head = prefix + "/s/"

    def message(topic, payload, retained):
        if topic.startswith(head) and "/" not in topic[len(head):]:
            loop.call_soon_threadsafe(monitor.take, payload, topic)
    return connect(host, port, [head + "+"], message, name="monitor")


async def main_async(a, mon):
    if a.broker:
        client = watch_broker(mon, *a.broker, a.prefix or default_prefix(a.fleet))
        was_up = False

        def check():
            """Say in the table and the lines when the broker is away."""
            nonlocal was_up
            if client.is_connected():
                was_up, mon.note = True, None
            else:
                mon.note = "%s the broker on %s:%d (%s)" % (
                    "lost" if was_up else "no connection to", *a.broker, broker_problem(*a.broker))
    else:
        await listen(mon, a.port)

        def check():
            pass
    if sys.stdout.isatty():
        from rich.live import Live
        with Live(mon.table(), refresh_per_second=4) as live:
            for n in itertools.count():
                await asyncio.sleep(0.25)
                if n % 4 == 0:
                    await asyncio.to_thread(check)
                    mon.save()
                live.update(mon.table())
    while True:
        await asyncio.sleep(1)
        await asyncio.to_thread(check)
        mon.save()
        print(mon.line(), flush=True)


def main():
    ap = argparse.ArgumentParser(description="Watch a ccrdt fleet's STATUS frames.")
    ap.add_argument("--key", required=True, help="fleet key file")
    where = ap.add_mutually_exclusive_group(required=True)
    where.add_argument("--port", type=int, help="UDP port the STATUS frames are sent to")
    where.add_argument("--broker", type=broker_address, help="host:port of the MQTT broker")
    ap.add_argument("--fleet", type=int, default=1)
    ap.add_argument("--prefix", help="with --broker: topic prefix (default ccrdt/<fleet>)")
    add_seen_argument(ap)
    a = ap.parse_args()
    try:
        key = read_key(a.key)
        mon = Monitor(key, a.fleet, seen_from(a, key))
    except (ConfigError, OSError, ValueError) as e:
        sys.exit("monitor: %s" % e)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # the finally below runs
    try:
        asyncio.run(main_async(a, mon))
    except KeyboardInterrupt:
        pass
    finally:
        mon.save()


if __name__ == "__main__":
    main()

"""A virtual fleet: N real MicroPython processes gossiping over UDP on loopback.

    python tools/fleet.py --nodes 8 --duration 15 --loss 0.1 --seed 1

Each node is ``$MICROPYTHON -X heapsize=N main.py`` (a unix port, the
venv's 64-bit one unless MICROPYTHON=path names another, with the heap of
its word size from tools/hostenv.py) running in its own flash directory
under build/fleet/<node>, exactly the firmware a board runs, loaded as the
.mpy files `make deploy` puts on a board.  Every datagram
passes a relay on loopback that counts bytes and can drop, duplicate,
reorder and partition.  The monitor listens to the nodes' authenticated
STATUS frames.

The run: the nodes' workload changes their states for --duration seconds,
then stops; the fleet must re-converge.  Faults can be scheduled (--kill,
--partition).  At the end every node is stopped cleanly and its snapshot is
read back: all must hold the same state, and each node's counters must equal
what its workload recorded.  Exit status 0 only if all of that holds.
"""
import argparse
import asyncio
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time

import hostenv
from hostenv import ROOT


from broker import Broker, External
from deploy import build
from monitor import Monitor, listen
from netsim import AirHub, Faults, Outsider, Relay, Segment, free_ports
from mqttclient import broker_address

from ccrdt.config import read_key
from ccrdt.node import LOG_COMMIT, LOG_NEW_LIFE, LOG_UP
from ccrdt.proto import BAD_SIZE, FRAME_MAX, NOT_FOR_ME, REPLAYED
from ccrdt.workload import LOG_RECORDED
from ccrdt.state import ConstraintState, origin_tag
from ccrdt.restore import decode_state


class Fleet:
    def __init__(self, n=8, duration=15.0, seed=1, root=None, heap=None, gossip_ms=250,
                 snapshot_ms=1000, status_ms=500, faults=None, log=print, workload=True,
                 transport="udp", micropython=hostenv.MICROPYTHON, twin=False, lan=False,
                 sites=1, broker=None, outsider=0.0):
        """twin: one more board, given the name of the first (an operator's
        copy-paste mistake); lan: UDP nodes get no peer list, only the
        broadcast address of their LAN segment; sites > 1: the nodes are
        split into radio clusters on separate ESP-NOW channels (no radio
        path between them), whose first nodes are gateways joined through
        a real MQTT broker (broker: a tools/broker.Broker, started here);
        outsider: the share of frames on the air after which an outsider
        sends a recorded one again, from a spoofed source (netsim.Outsider)."""
        if sites > 1:
            transport = "espnow"
        self.n, self.duration, self.seed = n + (1 if twin else 0), duration, seed
        n = self.n
        self.micropython = micropython
        self.heap = heap or hostenv.heap(micropython)
        if transport == "espnow":  # + the host radio stand-in, part of a board's firmware
            self.heap += hostenv.shim_cost(micropython)
        self.root = root or os.path.join(ROOT, "build", "fleet")
        self.names = ["n%02d" % i for i in range(n - (1 if twin else 0))]
        self.dirs = list(self.names)
        if twin:
            self.names.append(self.names[0])
            self.dirs.append(self.names[0] + "-twin")
        self.gossip_ms, self.snapshot_ms, self.status_ms = gossip_ms, snapshot_ms, status_ms
        self.faults = faults or Faults(seed)
        self.outsider = Outsider(seed + 1, outsider) if outsider else None
        self.log = log
        self.workload = workload
        self.transport = transport  # "udp" (through relays) or "espnow" (through the air hub)
        self.lan = lan
        self.sites = sites
        self.broker = broker if broker is not None or sites == 1 else Broker()
        self.macs = [bytes([2, 0, 0, 0, i >> 8, i & 0xFF]) for i in range(n)]
        self.procs = [None] * n
        self.down = set()  # nodes killed on purpose, not yet restarted
        self.wiped = set()  # (node, incarnation) whose flash was wiped by replace_board
        self.unsent = 0  # checks committed to a flash that was wiped before any peer heard them
        self.broker_outsider = None  # a BrokerOutsider, with sites and an outsider
        self.t0 = time.monotonic()

    # ---- files ---------------------------------------------------------
    def setup(self):
        shutil.rmtree(self.root, ignore_errors=True)
        os.makedirs(self.root)
        self.mpy = os.path.join(self.root, "mpy")
        build(hostenv.board(self.micropython), self.mpy)
        # Frozen firmware: main.py alone on the flash, since the script's
        # directory comes first on the path and its .mpy files would win.
        self.code = [] if hostenv.frozen(self.micropython) else [self.mpy]
        self.main = os.path.join(self.mpy, "main.py")
        if not self.code:
            os.makedirs(os.path.join(self.root, "main"))
            self.main = shutil.copy(self.main, os.path.join(self.root, "main"))
        self.shim = hostenv.shim(self.micropython)
        self.gateway_heap = self.heap
        if self.sites > 1:  # what `mpremote mip install umqtt.simple` puts on a gateway
            self.lib = os.path.join(self.root, "lib")
            hostenv.install_umqtt(self.lib)
            # A gateway board freezes this code or has the RAM for it (docs/design.md).
            self.gateway_heap += hostenv.gateway_cost(self.micropython, self.mpy, self.lib)
        rng = random.Random(self.seed)
        self.key_path = os.path.join(self.root, "fleet.key")
        with open(self.key_path, "w") as f:
            f.write("%032x\n" % rng.getrandbits(128))
        ports = free_ports(2 * self.n + 3)
        self.node_ports, self.relay_ports = ports[:self.n], ports[self.n:2 * self.n]
        self.monitor_port, self.air_port, self.segment_port = ports[-3:]
        for i, name in enumerate(self.names):
            d = self.dir(i)
            os.makedirs(d)
            if self.lan:
                udp = {"port": self.node_ports[i], "broadcast": "127.0.0.1:%d" % self.segment_port}
            else:
                udp = {"port": self.node_ports[i], "peers": [
                    {"node": self.names[j], "addr": "127.0.0.1:%d" % self.relay_ports[j]}
                    for j in range(self.n) if j != i]}
            cfg = {"node": name, "fleet": 1, "key_file": "../fleet.key",
                   "transports": [self.transport], "udp": udp,
                   "espnow": {"channel": 1 + self.site(i), "peers": []},
                   "monitor": "127.0.0.1:%d" % self.monitor_port,
                   "gossip_ms": self.gossip_ms, "jitter_ms": self.gossip_ms // 2,
                   "snapshot_ms": self.snapshot_ms, "status_ms": self.status_ms,
                   "max_nodes": max(32, self.n), "max_constraints": max(64, 2 * self.n),
                   "workload": self.workload_of(i)}
            if self.gateway(i):
                cfg["transports"].append("mqtt")
                cfg["mqtt"] = {"broker": "%s:%d" % (self.broker.host, self.broker.port)}
            import json
            with open(os.path.join(d, "config.json"), "w") as f:
                json.dump(cfg, f, indent=1)

    def workload_of(self, i):
        """Node i's workload config: by default every node runs the example
        for the whole duration; workload may be a function of i instead."""
        if callable(self.workload):
            return self.workload(i)
        if not self.workload:
            return None
        return {"module": "ccrdt.workload", "interval_ms": 200,
                "run_ms": int(self.duration * 1000), "toggle_every": 20}

    def dir(self, i):
        return os.path.join(self.root, self.dirs[i])

    def site(self, i):
        return i * self.sites // self.n

    def gateway(self, i):
        """The first node of each site, when there are several."""
        return self.sites > 1 and (i == 0 or self.site(i - 1) != self.site(i))

    def site_line(self):
        """Per site: nodes reporting, and how many agree on the commonest hash."""
        by_name = dict((v["name"], v["hash"]) for v in self.mon.live().values())
        parts = []
        for k in range(self.sites):
            hs = [by_name[n] for i, n in enumerate(self.names)
                  if self.site(i) == k and n in by_name]
            top = max(set(hs), key=hs.count) if hs else 0
            parts.append("site %d: %d/%d on %08x" % (k + 1, hs.count(top), len(hs), top))
        return ", ".join(parts)

    def config(self, i):
        import json
        with open(os.path.join(self.dir(i), "config.json")) as f:
            return json.load(f)

    # ---- processes -----------------------------------------------------
    def start(self, i):
        env = dict(os.environ, MICROPYPATH=":".join([".frozen"] + self.code))
        if self.transport == "espnow":  # the radio stand-in, on the air hub
            path = [self.shim, ".frozen"] + self.code + ([self.lib] if self.gateway(i) else [])
            env.update(MICROPYPATH=":".join(path), CCRDT_MAC=self.macs[i].hex(),
                       CCRDT_AIR="127.0.0.1:%d" % self.air_port)
        self.down.discard(i)
        logf = open(os.path.join(self.dir(i), "log.txt"), "a")
        self.procs[i] = subprocess.Popen(
            hostenv.command(self.micropython, self.gateway_heap if self.gateway(i) else self.heap)
            + [self.main],
            cwd=self.dir(i), env=env, stdout=logf, stderr=subprocess.STDOUT,
            # Ctrl-C reaches the tool, which stops each node once
            stdin=subprocess.DEVNULL, start_new_session=True)
        logf.close()

    def kill(self, i):
        """kill -9: no clean shutdown, whatever was not committed is gone."""
        p = self.procs[i]
        self.down.add(i)
        p.kill()
        p.wait()

    def cpu_seconds(self):
        """User + system CPU seconds of each running node (Linux /proc)."""
        out = []
        for p in self.procs:
            try:
                with open("/proc/%d/stat" % p.pid) as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                out.append((int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"))
            except (OSError, AttributeError, ValueError):
                pass
        return out

    def stop_all(self, timeout=10):
        if self.procs and self.procs[0] is not None:
            self.cpu = self.cpu_seconds()
            self.wall = time.monotonic() - self.t0
        for p in self.procs:
            if p and p.poll() is None:
                p.send_signal(signal.SIGINT)
        deadline = time.monotonic() + timeout
        for p in self.procs:
            if p:
                try:
                    p.wait(max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()

    def logs(self, i):
        with open(os.path.join(self.dir(i), "log.txt")) as f:
            return f.read()

    def exited(self):
        """Problems of nodes that ended on their own (a board would reboot
        into the same failure): the exit status and the last log line."""
        out = []
        for i, p in enumerate(self.procs):
            if p is not None and i not in self.down and p.poll() is not None:
                last = (self.logs(i).strip().splitlines() or ["(no output)"])[-1]
                out.append("%s exited with status %d: %s" % (self.names[i], p.returncode, last))
        return out

    # ---- checks --------------------------------------------------------
    def snapshots(self):
        """Each node's snapshot read back, None where it wrote none."""
        out = []
        for i, name in enumerate(self.names):
            path = os.path.join(self.dir(i), "state.bin")
            if not os.path.exists(path):
                out.append(None)
                continue
            with open(path, "rb") as f:
                out.append(decode_state(f.read(), name))
        return out

    def incarnations(self, i):
        """Node i's log read life by life (a life ends with a clean stop or
        a kill -9), and within a life incarnation by incarnation (a board
        with no snapshot, or that could not get its row back, starts a new
        one).  Returns (problems, {incarnation: last committed counts}):
        each life must go on from what its incarnation last committed
        (nothing committed is lost), and after a clean stop what every
        incarnation of the life committed must add up to what the workload
        recorded (nothing lost, nothing counted twice)."""
        name, problems, committed = self.names[i], [], {}
        # (incarnation, own_sat, own_vio, the rest of the life's log) per life
        lives = re.split(log_pattern(LOG_UP, name), self.logs(i))[1:]
        if not lives:  # nothing to check would look like nothing wrong
            problems.append("%s: its log has no start line (%s)" % (name, LOG_UP))
        for k in range(0, len(lives), 4):
            inc, start = int(lives[k]), (int(lives[k + 1]), int(lives[k + 2]))
            life = lives[k + 3]
            if start != committed.get(inc, (0, 0)):
                problems.append("%s restarted at %s, had committed %s"
                                % (name, start, committed.get(inc, (0, 0))))
            committed[inc] = start
            grown = [0, 0]  # what this life added, over its incarnations
            base = start
            for line in life.splitlines():
                c = COMMIT.match(line)
                n = NEW_LIFE.search(line)
                if c:
                    committed[inc] = (int(c.group(1)), int(c.group(2)))
                elif n and int(n.group(1)) != inc:
                    grown = [grown[k] + committed[inc][k] - base[k] for k in (0, 1)]
                    inc, base = int(n.group(1)), (0, 0)
                    committed[inc] = base
            grown = [grown[k] + committed[inc][k] - base[k] for k in (0, 1)]
            rec = RECORDED.search(life)
            recorded = (int(rec.group(1)), int(rec.group(2))) if rec else None
            if rec and " stopped" in life and tuple(grown) != recorded:
                problems.append("%s committed %s in a life whose workload recorded %s"
                                % (name, tuple(grown), recorded))
        return problems, committed

    def count_problems(self, final):
        """Every incarnation of every board holds, in the final state, what
        it last committed; returns the problems."""
        problems = []
        for i, name in enumerate(self.names):
            found, committed = self.incarnations(i)
            problems += found
            for inc, counts in sorted(committed.items()):
                held = final.metrics.origin(origin_tag(name.encode(), inc))
                if (i, inc) in self.wiped and held[0] <= counts[0] and held[1] <= counts[1]:
                    # What the board committed in the last moments before its
                    # flash was destroyed, and had not told any peer yet, is
                    # gone with it: a physical limit, counted and shown.
                    self.unsent += counts[0] - held[0] + counts[1] - held[1]
                    continue
                if held != counts:
                    problems.append("%s (incarnation %d) holds %s, committed %s last"
                                    % (name, inc, held, counts))
        return problems

    # ---- the run -------------------------------------------------------
    async def run(self, events=(), settle_timeout=60.0, ui=None):
        """Start, apply events [(seconds, callable)], wait for the workload
        to end and the fleet to converge; returns a summary dict."""
        self.setup()
        loop = asyncio.get_running_loop()
        if self.broker is not None:
            await loop.run_in_executor(None, self.broker.start)
            self.log(self.broker.started_line())
            self.tap = BrokerTap(self.broker, "ccrdt/1/#")
            if self.outsider is not None:
                self.broker_outsider = BrokerOutsider(self.broker, "ccrdt/1", Outsider(
                    self.seed + 2, self.outsider.rate), [self.names[i] for i in range(self.n)
                                                         if self.gateway(i)])
        self.mon = Monitor(read_key(self.key_path), 1)
        transports = [await listen(self.mon, self.monitor_port)]
        port_node = dict((p, i) for i, p in enumerate(self.node_ports))
        relays = []
        node_addrs = [("127.0.0.1", p) for p in self.node_ports]
        outsider = None
        if self.outsider is not None:  # its own socket: what it sends comes from elsewhere
            t, _ = await loop.create_datagram_endpoint(asyncio.DatagramProtocol,
                                                       local_addr=("127.0.0.1", 0))
            transports.append(t)
            outsider = (self.outsider, t, node_addrs)
        for j in range(self.n):
            t, r = await loop.create_datagram_endpoint(
                lambda j=j: Relay(self.faults, j, node_addrs[j], port_node, relays, outsider),
                local_addr=("127.0.0.1", self.relay_ports[j]))
            transports.append(t)
            relays.append(r)
        t, _ = await loop.create_datagram_endpoint(
            lambda: Segment(self.faults, node_addrs, port_node, relays, outsider),
            local_addr=("127.0.0.1", self.segment_port))
        transports.append(t)
        mac_node = dict((m, i) for i, m in enumerate(self.macs))
        t, _ = await loop.create_datagram_endpoint(
            lambda: AirHub(self.faults, mac_node, self.outsider),
            local_addr=("127.0.0.1", self.air_port))
        transports.append(t)
        self.t0 = self.faults.t0 = time.monotonic()
        for i in range(self.n):
            self.start(i)
        pending = sorted(events, key=lambda e: e[0])
        quiet_at = self.duration
        converged_at = None
        last_print = 0
        self.died = []
        try:
            while not self.died:
                await asyncio.sleep(0.1)
                t = time.monotonic() - self.t0
                self.died = self.exited()
                while pending and pending[0][0] <= t:
                    pending.pop(0)[1](self)
                    quiet_at = max(quiet_at, t)
                if ui is not None:
                    ui(self.mon)
                elif t - last_print >= 1:
                    last_print = t
                    self.log("t=%5.1fs %s%s" % (t, self.mon.line(),
                                                "; " + self.site_line() if self.sites > 1 else ""))
                if t >= quiet_at + 1 and not pending:
                    if self.mon.converged(self.names):
                        converged_at = t
                        break
                    if t > quiet_at + settle_timeout:
                        break
        finally:
            self.stop_all()
            for tr in transports:
                tr.close()
            if self.broker is not None:
                self.tap.close()
                if self.broker_outsider is not None:
                    self.broker_outsider.close()
                self.broker.stop()
        return self.summary(quiet_at, converged_at)

    def summary(self, quiet_at, converged_at):
        s = {"nodes": self.n, "converged": converged_at is not None,
             "settle_s": None if converged_at is None else converged_at - quiet_at,
             "frames": self.faults.frames, "bytes": self.faults.bytes,
             "dropped": self.faults.dropped}
        if s["settle_s"] is not None:
            s["settle_rounds"] = s["settle_s"] * 1000 / (self.gossip_ms * 1.25)
        states = self.snapshots()
        s["snapshots_equal"] = None not in states and all(x == states[0] for x in states[1:])
        s["problems"] = self.died + ["%s wrote no snapshot" % name
                                     for name, x in zip(self.names, states) if x is None]
        for i, name in enumerate(self.names):
            errors = [line for line in self.logs(i).splitlines() if line.startswith("error in ")]
            if errors:
                s["problems"].append("%s logged %d errors, the last: %s"
                                     % (name, len(errors), errors[-1]))
        first = next((x for x in states if x is not None), ConstraintState("none"))
        counts = self.count_problems(first)
        s["counts_match"] = not counts
        s["problems"] += counts
        live = self.mon.live(max_age=30)
        s["heap_used_max"] = max((v["heap_used"] for v in live.values()), default=0)
        s["heap_free_min"] = min((v["heap_free"] for v in live.values()), default=0)
        s["clashes"] = sorted(set(v["name"] for v in live.values() if v["clashes"]))

        def refused(reason):
            """Frames the live boards refused for reason."""
            return sum(v["rejected_by"][reason - 1] for v in live.values()
                       if len(v["rejected_by"] or ()) >= reason)
        s["replays_refused"] = refused(REPLAYED)
        s["elsewhere_refused"] = refused(NOT_FOR_ME)
        s["outsider_sent"] = self.outsider.sent if self.outsider is not None else 0
        s["oversized_refused"] = refused(BAD_SIZE)
        b = self.broker_outsider
        if b is not None:
            s["outsider_sent"] += b.who.sent
            s["oversized_sent"], s["oversized_bytes"] = b.oversized, b.oversized_bytes
            s["oversized_deliveries"] = b.deliveries
        cpu = getattr(self, "cpu", [])
        s["cpu_percent"] = 100 * sum(cpu) / len(cpu) / self.wall if cpu else None
        s["constraints"] = first.active_constraint_count()
        s["satisfied"] = first.metrics.total_satisfied()
        s["violations"] = first.metrics.total_violations()
        if self.broker is not None:
            s["broker_frames"], s["broker_bytes"] = self.tap.frames, self.tap.bytes
            s["broker_starts"] = self.broker.starts
        return s


def log_pattern(fmt, name=""):
    """A regex for the node's log line fmt: each %d a group, %s the name."""
    return re.escape(fmt).replace("%d", r"(\d+)").replace("%s", re.escape(name))


COMMIT = re.compile(log_pattern(LOG_COMMIT))
NEW_LIFE = re.compile(log_pattern(LOG_NEW_LIFE) + "$")
RECORDED = re.compile(log_pattern(LOG_RECORDED))


class BrokerTap:
    """Counts the frames and bytes the gateways publish through the broker,
    with a second MQTT client (paho), subscribed to the fleet's topics."""

    def __init__(self, broker, topics):
        import paho.mqtt.client as mqtt
        self.frames = self.bytes = 0
        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="ccrdt-fleet-tap")
        c.on_connect = lambda cl, ud, fl, rc, props: cl.subscribe(topics)
        c.on_message = self._count
        c.reconnect_delay_set(0.2, 2)
        c.connect_async(broker.host, broker.port)
        c.loop_start()
        self.client = c

    def _count(self, client, userdata, msg):
        if msg.topic.endswith("/" + BrokerOutsider.NAME):
            return  # what the fleet carries, not what an outsider adds
        self.frames += 1
        self.bytes += len(msg.payload)

    def close(self):
        self.client.loop_stop()
        self.client.disconnect()


class BrokerOutsider:
    """A client of the broker without the key (paho): it hears the fleet's
    topics, and publishes on the gateways' topics, as a topic of its own
    (P/b/outsider, P/u/<gateway>/outsider), frames it recorded (for a share
    of those it hears: who, a netsim.Outsider) and, when told, payloads far
    longer than a frame."""

    NAME = "outsider"

    def __init__(self, broker, prefix, who, gateways):
        import paho.mqtt.client as mqtt
        self.who = who
        self.topics = ["%s/b/%s" % (prefix, self.NAME)] + [
            "%s/u/%s/%s" % (prefix, g, self.NAME) for g in gateways]
        self.gateways = len(gateways)
        self.oversized = self.oversized_bytes = 0
        self.deliveries = 0  # oversized messages times the gateways each one reaches
        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="ccrdt-fleet-outsider")
        c.on_connect = lambda cl, ud, fl, rc, props: cl.subscribe("%s/+/#" % prefix)
        c.on_message = self._heard
        c.connect(broker.host, broker.port)
        c.loop_start()
        self.client = c

    def _heard(self, client, userdata, msg):
        if msg.topic in self.topics or len(msg.payload) > FRAME_MAX:
            return  # its own
        again = self.who.hear(msg.payload)
        if again is not None:
            client.publish(self.who.rng.choice(self.topics), again)

    def publish_oversized(self, size):
        """One payload of size bytes on one of its topics, at random."""
        topic = self.who.rng.choice(self.topics)
        if self.client.publish(topic, bytes([self.oversized & 255]) * size).rc:
            return  # not connected (a broker outage): nothing sent
        self.oversized += 1
        self.oversized_bytes += size
        self.deliveries += self.gateways if topic == self.topics[0] else 1

    def close(self):
        self.client.loop_stop()
        self.client.disconnect()


def oversized_publish(size):
    """An event: the broker's outsider publishes a payload of size bytes."""
    def act(fleet):
        fleet.log("an outsider publishes %d bytes on a gateway topic" % size)
        fleet.broker_outsider.publish_oversized(size)
    return act


def broker_outage(down_s):
    """An event: the broker stops, and starts again down_s later on its port."""
    def act(fleet):
        fleet.log("broker stopped for %.1f s" % down_s)
        fleet.broker.stop()
        loop = asyncio.get_running_loop()
        loop.call_later(down_s, lambda: loop.run_in_executor(None, fleet.broker.start))
    return act


def inject_forged(fleet):
    """An event: an outsider without the key publishes on the gateways'
    broadcast topic: a well-formed frame sealed with another key, noise, and
    payloads of 64 KB and 1 MB."""
    import paho.mqtt.publish as publish

    from ccrdt.gossip import GossipNode
    buf = bytearray(250)
    forged = bytes(buf[:GossipNode("intruder", bytes(16)).ping_into(buf)])
    topic = "ccrdt/1/b/intruder"
    fleet.log("an outsider publishes a forged frame, noise and 1.1 MB on %s" % topic)
    publish.multiple([(topic, forged), (topic, b"\xcc" * 40), (topic, b"\xcc" * (1 << 16)),
                      (topic, b"\xcc" * (1 << 20))], hostname=fleet.broker.host,
                     port=fleet.broker.port)


def replace_board(i, down_s=1.0):
    """An event: board i is replaced by a new one with an empty flash and
    the same name (kill -9, flash wiped, started again down_s later)."""
    def act(fleet):
        fleet.log("replace %s with a board with an empty flash" % fleet.names[i])
        fleet.kill(i)
        _, committed = fleet.incarnations(i)
        fleet.wiped |= set((i, inc) for inc in committed)
        for f in os.listdir(fleet.dir(i)):
            if f.startswith("state."):
                os.remove(os.path.join(fleet.dir(i), f))
        asyncio.get_running_loop().call_later(down_s, lambda: fleet.start(i))
    return act


def kill_and_restart(i, down_s=1.0):
    """An event: kill -9 node i now, start it again down_s later."""
    def act(fleet):
        fleet.log("kill -9 %s" % fleet.names[i])
        fleet.kill(i)
        asyncio.get_running_loop().call_later(
            down_s, lambda: (fleet.log("restart %s" % fleet.names[i]), fleet.start(i)))
    return act


def main(argv=None):
    try:
        return demo(argv)
    except hostenv.Missing as e:  # one line that says what to do, not a traceback
        print("fleet: %s" % e, file=sys.stderr)
        return 2


def word_size_note(interp):
    """A line for a run on a 64-bit MicroPython: the boards are 32-bit."""
    if hostenv.word_bits(interp) == 32:
        return None
    if os.path.exists(hostenv.MP32):
        return ("note: 64-bit MicroPython; MICROPYTHON=%s runs the fleet on 32-bit, an ESP32's "
                "word size" % os.path.relpath(hostenv.MP32))
    return ("note: 64-bit MicroPython; %s; make demo MICROPYTHON=path/to/micropython runs on it"
            % hostenv.HOW_MP32)


def parser():
    """tools/fleet.py's options (tools/bench.py runs fleets by the same)."""
    ap = argparse.ArgumentParser(description="Run a virtual fleet of MicroPython nodes.")
    ap.add_argument("--nodes", type=int, default=8)
    ap.add_argument("--duration", type=float, default=15, help="seconds of workload changes")
    ap.add_argument("--loss", type=float, default=0.0)
    ap.add_argument("--dup", type=float, default=0.0)
    ap.add_argument("--reorder-ms", type=int, default=0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--gossip-ms", type=int, default=250)
    ap.add_argument("--transport", choices=["udp", "espnow"], default="udp",
                    help="espnow: the ESP-NOW code path over the host radio stand-in")
    ap.add_argument("--kill", type=float, default=None,
                    help="kill -9 node n01 at this second, restart 1 s later")
    ap.add_argument("--partition", default=None, help="FROM:TO seconds with the fleet cut in two")
    ap.add_argument("--replace", type=float, default=None,
                    help="replace node n02 by a board with an empty flash at this second")
    ap.add_argument("--twin", action="store_true", help="one more board named like n00")
    ap.add_argument("--sites", type=int, default=1,
                    help="radio clusters on separate channels, one gateway each, joined through "
                         "a real MQTT broker (ESP-NOW stand-in within a site)")
    ap.add_argument("--broker-outage", default=None, metavar="AT:SECONDS",
                    help="with --sites: stop the broker at this second for this long")
    ap.add_argument("--broker", type=broker_address, default=None, metavar="HOST:PORT",
                    help="with --sites: an MQTT broker already running (python tools/broker.py), "
                         "which outlives the run for the host tools (monitor, ha_bridge)")
    ap.add_argument("--lan", action="store_true",
                    help="udp: no peer lists, each node broadcasts on one LAN segment")
    ap.add_argument("--outsider", type=float, default=0.0, metavar="RATE",
                    help="an outsider without the key records frames on the air and, after "
                         "this share of them, sends a recording again from a spoofed source; "
                         "with --sites also on the broker, where it also publishes a payload "
                         "longer than a frame every 2 s (64 KB; every fourth, 1 MB)")
    ap.add_argument("--plain", action="store_true", help="log lines instead of the live table")
    return ap


def from_args(argv, log=print, micropython=None):
    """(fleet, events) for a tools/fleet.py command line (argv, without the
    program's name); micropython: the interpreter (default MICROPYTHON)."""
    ap = parser()
    a = ap.parse_args(argv)
    if a.broker and a.broker_outage:
        ap.error("--broker-outage needs the broker the run starts itself (no --broker)")
    part = None
    if a.partition:
        t1, t2 = (float(x) for x in a.partition.split(":"))
        part = (t1, t2, set(range(a.nodes // 2)))
    faults = Faults(a.seed, a.loss, a.dup, a.reorder_ms, part)
    fleet = Fleet(a.nodes, a.duration, a.seed, gossip_ms=a.gossip_ms, faults=faults, log=log,
                  transport=a.transport, twin=a.twin, lan=a.lan, sites=a.sites,
                  micropython=micropython or hostenv.MICROPYTHON,
                  broker=External(*a.broker) if a.broker else None, outsider=a.outsider)
    events = []
    if a.kill is not None:
        events.append((a.kill, kill_and_restart(1)))
    if a.replace is not None:
        events.append((a.replace, replace_board(2)))
    if part:
        events.append((part[1], lambda f: f.log("partition healed")))
    if a.broker_outage:
        at, down = (float(x) for x in a.broker_outage.split(":"))
        events.append((at, broker_outage(down)))
    if a.outsider and a.sites > 1:
        events += [(1.0 + t, oversized_publish(1 << 20 if t % 8 == 6 else 1 << 16))
                   for t in range(0, max(1, int(a.duration) - 1), 2)]
    return fleet, events


def demo(argv=None):
    a = parser().parse_args(argv)
    fleet, events = from_args(argv)
    over = fleet.transport + (" (LAN broadcast, no peer lists)" if a.lan else "")
    if a.sites > 1:
        over = ("%d sites (ESP-NOW channels) joined by gateways through %s"
                % (a.sites, fleet.broker))
    print("fleet of %d MicroPython nodes over %s on %s, heap %d bytes each, in %s"
          % (fleet.n, over,
             hostenv.describe(fleet.micropython), fleet.heap, os.path.relpath(fleet.root)))

    async def go():
        if sys.stdout.isatty() and not a.plain:
            from rich.live import Live
            with Live(refresh_per_second=4) as live:
                return await fleet.run(events, ui=lambda mon: live.update(mon.table()))
        return await fleet.run(events)
    try:
        s = asyncio.run(go())
    except KeyboardInterrupt:
        fleet.stop_all()
        print("stopped")
        return 130
    settled = ("%.1f s (about %.0f gossip rounds)" % (s["settle_s"], s["settle_rounds"])
               if s["converged"] else "-")
    print("summary: %d nodes, %s after the last change: %s; "
          "%d frames, %d bytes on the wire (%d dropped)"
          % (s["nodes"], "converged" if s["converged"] else "NOT converged", settled,
             s["frames"], s["bytes"], s["dropped"]))
    print("summary: per node: heap used at most %d bytes, free at least %d (%d-bit), "
          "CPU %.1f%% of a core"
          % (s["heap_used_max"], s["heap_free_min"], hostenv.word_bits(fleet.micropython),
             s["cpu_percent"] or 0))
    print("summary: snapshots read back from every node %s; counters %s the workloads' records; "
          "%d constraints, %d satisfied, %d violations"
          % ("are equal" if s["snapshots_equal"] else "DIFFER",
             "match" if s["counts_match"] else "DO NOT match",
             s["constraints"], s["satisfied"], s["violations"]))
    if fleet.wiped:
        print("summary: a replaced board's old flash held %d checks no peer had heard yet "
              "(gossiped after each commit; lost with the flash)" % fleet.unsent)
    if fleet.broker is not None:
        print("summary: through the broker: %d frames, %d bytes%s"
              % (s["broker_frames"], s["broker_bytes"], "; the run started it %d time%s"
                 % (s["broker_starts"], "s" if s["broker_starts"] > 1 else "")
                 if s["broker_starts"] else ""))
    if s["clashes"]:
        print("summary: boards reported another live board with their name: %s"
              % ", ".join(s["clashes"]))
    if fleet.outsider is not None:
        print("summary: an outsider sent %d recorded frames again from a spoofed source; the "
              "nodes refused %d frames as replays and %d sent to another board"
              % (s["outsider_sent"], s["replays_refused"], s["elsewhere_refused"]))
    if "oversized_sent" in s:
        print("summary: the outsider published %d payloads longer than a frame (%.1f MB) on "
              "the broker, %d deliveries to gateways; the gateways refused %d as oversized"
              % (s["oversized_sent"], s["oversized_bytes"] / 1e6, s["oversized_deliveries"],
                 s["oversized_refused"]))
    if a.sites > 1:
        print("summary: gateways had %d bytes of heap: a node's %d and %d measured for the MQTT "
              "transport and umqtt.simple" % (fleet.gateway_heap, fleet.heap,
                                              fleet.gateway_heap - fleet.heap))
    if a.sites > 1:
        print("summary: fleet key %s (for tools/monitor.py, ha_bridge.py, fleet_state.py "
              "--broker %s:%d --key ...)" % (os.path.relpath(fleet.key_path), fleet.broker.host,
                                            fleet.broker.port))
    note = word_size_note(fleet.micropython)
    if note:
        print(note)
    for p in s["problems"]:
        print("problem:", p)
    return 0 if s["converged"] and s["snapshots_equal"] and s["counts_match"] else 1


if __name__ == "__main__":
    sys.exit(main())

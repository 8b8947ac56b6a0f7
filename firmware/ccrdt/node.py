"""The node runtime: one asyncio program that a board runs for months.

Tasks: receive frames into a bounded queue, process them, gossip on an
interval with jitter, run the application workload, commit local changes
to flash, and report status (a line, a STATUS frame to the monitor, an LED).
An exception inside one step is logged and counted; the task goes on.

Local changes are group-committed.  The application's operations queue up;
every ``snapshot_ms`` they are applied to the state and written to flash in
one snapshot, and only then can gossip carry them.  So a board never tells
the fleet anything that its flash would forget on a crash, its counters
never go backwards across a reboot, and flash is written at most once per
interval.  A board that booted from an older snapshot (the newest was
missing or corrupt) holds its commits until one exchange with a peer has
brought back what the fleet knows of it.
"""
import asyncio
import gc
import random

from micropython import const

from ccrdt import CapacityError, raw, wire
from ccrdt.compat import sleep_ms as sleep_ms_blocking
from ccrdt.compat import ticks_diff, ticks_ms
from ccrdt.gossip import GossipNode
from ccrdt.state import id_bytes
from ccrdt.status import PENDING, RECOVERING, RUNNING
from ccrdt.status import write as write_status
from ccrdt.store import Store

_PENDING_MAX = const(32)
_PRESENCE_TICKS = const(10)
_UDP = const(0)
_ESPNOW = const(1)


async def sleep_ms(ms):
    if hasattr(asyncio, "sleep_ms"):
        await asyncio.sleep_ms(ms)
    else:
        await asyncio.sleep(ms / 1000)


class RxQueue:
    """A ring of preallocated frame buffers, each with the frame's length,
    the transport it came by and the sender's MAC (ESP-NOW); the last slot
    is a spill buffer: a frame received into it is dropped and counted."""

    def __init__(self, slots):
        # One byte more than a frame, so that an oversized datagram shows.
        self.bufs = [bytearray(wire.FRAME_MAX + 1) for _ in range(slots + 1)]
        self.macs = [bytearray(6) for _ in range(slots + 1)]
        self.lens = [0] * (slots + 1)
        self.srcs = bytearray(slots + 1)
        self.slots = slots
        self.head = self.count = self.dropped = 0
        self.ready = asyncio.Event()

    def slot(self):
        """Index of the slot to receive into (the spill slot when full)."""
        if self.count == self.slots:
            return self.slots
        return (self.head + self.count) % self.slots

    def push(self, i, n, src):
        if i == self.slots:
            self.dropped += 1
            return
        self.lens[i] = n
        self.srcs[i] = src
        self.count += 1
        self.ready.set()

    def pop(self):
        """Index of the oldest frame; its slot is free afterwards."""
        i = self.head
        self.head = (i + 1) % self.slots
        self.count -= 1
        if not self.count:
            self.ready.clear()
        return i


class Node:
    def __init__(self, cfg, directory="", log=print):
        self.cfg = cfg
        self.log = log
        self.name = cfg["node"]
        self.store = Store(directory, self.name, cfg["max_nodes"], cfg["max_constraints"], log)
        state, fresh = self.store.load()
        self.gossip = GossipNode(self.name, cfg["key"], cfg["fleet"], state=state)
        self.recovering = not fresh
        self.saved_hash = state.state_hash()
        if self.recovering:
            log("booted from an older snapshot: commits wait for one exchange with a peer")
        self.queue = RxQueue(cfg["rx_queue"])
        self.pending = []
        self.pend_sat = self.pend_vio = 0
        self.unsaved = False
        self.rx = self.tx = self.tx_bytes = self.errors = self.rejected_ops = self.ticks = 0
        self.started = ticks_ms()
        self.running = True
        self._tx = bytearray(wire.FRAME_MAX)
        self._reply_tag = 0
        self._reply_src = _UDP
        self._reply_mac = None
        self._reply = self._send_reply  # bound once: no allocation per frame
        self._bcast = self._send_broadcast
        self.udp = self.espnow = None
        if cfg["wifi"]:
            join_wifi(cfg["wifi"], log)
        if "udp" in cfg["transports"]:
            from ccrdt.transport.udp import UdpTransport
            self.udp = UdpTransport(cfg["udp"]["port"], cfg["udp"]["peers"])
        if "espnow" in cfg["transports"]:
            from ccrdt.transport.espnow import EspNowTransport
            self.espnow = EspNowTransport(cfg["espnow"]["channel"], cfg["espnow"]["peers"], log)
        self.monitor = self._status_sock = None
        if cfg["monitor"]:
            from ccrdt.transport.udp import resolve
            self.monitor = resolve(*cfg["monitor"])
            if self.udp is None:  # status only: needs an IP network (a gateway)
                import socket
                self._status_sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.led = None
        if cfg["led_pin"] is not None:
            try:
                from machine import Pin
                self.led = Pin(cfg["led_pin"], Pin.OUT)
            except (ImportError, ValueError) as e:
                log("no status LED: %s" % e)
        self.workload = None
        wl = cfg["workload"]
        if wl:
            mod = __import__(wl["module"], None, None, ["Workload"])
            self.workload = mod.Workload(self, wl)

    # ---- what the application calls ----------------------------------
    def _queue(self, op, arg):
        if len(self.pending) >= _PENDING_MAX:
            raise CapacityError("%d operations wait for the next commit" % _PENDING_MAX)
        self.pending.append((op, arg))

    def add_constraint(self, cid):
        id_bytes(cid, "constraint id")
        self._queue("add", cid)

    def remove_constraint(self, cid):
        id_bytes(cid, "constraint id")
        self._queue("remove", cid)

    def update_position(self, pos):
        self._queue("position", pos)

    def record_satisfied(self, n=1):
        if not isinstance(n, int) or n < 0:
            raise ValueError("satisfied count must be an int >= 0")
        self.pend_sat += n

    def record_violations(self, n=1):
        if not isinstance(n, int) or n < 0:
            raise ValueError("violation count must be an int >= 0")
        self.pend_vio += n

    @property
    def state(self):
        return self.gossip.state

    # ---- commit --------------------------------------------------------
    def commit(self):
        """Apply the queued operations and write the snapshot if the state
        changed since the last one (gossip counts too: a rebooted board then
        starts from what it knew).  Returns True if a snapshot was written."""
        if not (self.pending or self.pend_sat or self.pend_vio or self.unsaved
                or self.state.state_hash() != self.saved_hash):
            return False
        g = self.gossip
        for op, arg in self.pending:
            try:
                if op == "add":
                    g.add_constraint(arg)
                elif op == "remove":
                    g.remove_constraint(arg)
                else:
                    g.update_position(arg)
            except (CapacityError, ValueError, OverflowError) as e:
                self.rejected_ops += 1
                self.log("operation %s %r refused: %s" % (op, arg, e))
        self.pending = []
        for count, record in ((self.pend_sat, g.record_satisfied), (self.pend_vio, g.record_violations)):
            if count:
                try:
                    record(count)
                except OverflowError as e:
                    self.rejected_ops += 1
                    self.log("counter refused: %s" % e)
        self.pend_sat = self.pend_vio = 0
        try:
            self.store.save(g.state)
            self.saved_hash = g.state.state_hash()
            self.unsaved = False
            self.log("commit own_sat=%d own_vio=%d" % self.own_counts())
        except OSError as e:
            # Gossip stays silent until the state is on flash (see above).
            self.unsaved = True
            self.log("snapshot write failed: %s" % e)
        return not self.unsaved

    def own_counts(self):
        m = self.state.metrics
        return m.node_satisfied(self.name), m.node_violations(self.name)

    # ---- frames --------------------------------------------------------
    def _sent(self, ok, n):
        if ok:
            self.tx += 1
            self.tx_bytes += n

    def _send_reply(self, buf, n):
        """Answers go back the way the frame came."""
        if self._reply_src == _ESPNOW and self.espnow is not None:
            self._sent(self.espnow.send(self._reply_mac, buf, n), n)
        elif self.udp is not None:
            self._sent(self.udp.send_to_tag(self._reply_tag, buf, n), n)

    def _send_broadcast(self, buf, n):
        if self.espnow is not None:
            self._sent(self.espnow.broadcast(buf, n), n)

    def process(self, buf, n, src=0, mac=None):
        """Handle one received frame (never raises)."""
        self.rx += 1
        g = self.gossip
        before = g.rejected()
        self._reply_tag = wire.sender(buf) if n >= wire.HEADER else 0
        self._reply_src = src
        self._reply_mac = mac
        g.handle(buf, n, self._reply if not self.unsaved else _drop)
        if g.rejected() != before:
            return
        if src == _ESPNOW and self.espnow is not None:
            self.espnow.heard(mac)  # authenticated: a board of the fleet
        if self.recovering and (g.changed or g.converged):
            self.recovering = False
            self.log("caught up with the fleet: commits resume")

    def ping_peer(self):
        """One gossip tick: on ESP-NOW, broadcast own changes, and announce
        this board while it knows no peer and every _PRESENCE_TICKS ticks;
        on every transport, ping one random peer."""
        if self.unsaved:
            return
        self.ticks += 1
        if self.espnow is not None:
            self.gossip.broadcast(self._bcast)
            if not self.espnow.peer_count() or self.ticks % _PRESENCE_TICKS == 0:
                self._send_broadcast(self._tx, self.gossip.presence_into(self._tx))
        for t in (self.udp, self.espnow):
            if t is not None and t.peer_count():
                n = self.gossip.ping_into(self._tx)
                self._sent(t.send_to_peer(random.getrandbits(16) % t.peer_count(), self._tx, n), n)

    # ---- tasks ---------------------------------------------------------
    async def _receive(self, transport, src):
        q = self.queue
        while self.running:
            i = q.slot()
            try:
                n = await transport.recv_into(q.bufs[i])
            except OSError as e:
                self._error("receive", e)
                await sleep_ms(100)
                continue
            if src == _ESPNOW:
                raw.copy(q.macs[i], 0, transport.last_mac, 0, 6)
            q.push(i, n, src)

    async def _process(self):
        q = self.queue
        while self.running:
            await q.ready.wait()
            while q.count:
                i = q.pop()
                try:
                    self.process(q.bufs[i], q.lens[i], q.srcs[i], q.macs[i])
                except Exception as e:  # a bug must not stop the board
                    self._error("process", e)

    async def _gossip(self):
        c = self.cfg
        while self.running:
            await sleep_ms(c["gossip_ms"] + (random.getrandbits(16) % (c["jitter_ms"] + 1)))
            try:
                self.ping_peer()
            except Exception as e:
                self._error("gossip", e)

    async def _commit(self):
        c = self.cfg
        while self.running:
            await sleep_ms(max(c["snapshot_ms"], 50))
            if self.recovering and ticks_diff(ticks_ms(), self.started) > 10 * c["gossip_ms"]:
                self.recovering = False
                self.log("no peer answered: commits resume on the local snapshot")
            if not self.recovering:
                try:
                    self.commit()
                except Exception as e:
                    self._error("commit", e)

    async def _status(self):
        while self.running:
            await sleep_ms(self.cfg["status_ms"])
            try:
                self.report()
            except Exception as e:
                self._error("status", e)

    def _error(self, where, e):
        self.errors += 1
        self.log("error in %s: %r" % (where, e))

    def status_values(self):
        st, g = self.state, self.gossip
        sat, vio = self.own_counts()
        gc.collect()
        return (st.state_hash(), st.active_constraint_count(), len(st.nodes()),
                st.metrics.total_satisfied(), st.metrics.total_violations(), sat, vio,
                self.rx, self.tx, self.tx_bytes, g.rejected(), self.queue.dropped, self.errors,
                ticks_diff(ticks_ms(), self.started), gc.mem_free() if hasattr(gc, "mem_free") else 0,
                gc.mem_alloc() if hasattr(gc, "mem_alloc") else 0, self.flags())

    def flags(self):
        f = 0
        if self.workload is not None and self.workload.running:
            f |= RUNNING
        if self.pending or self.pend_sat or self.pend_vio or self.unsaved:
            f |= PENDING
        if self.recovering:
            f |= RECOVERING
        return f

    def report(self):
        v = self.status_values()
        self.log("status %s hash=%08x constraints=%d nodes=%d sat=%d vio=%d own_sat=%d own_vio=%d "
                 "rx=%d tx=%d tx_bytes=%d rejected=%d dropped=%d errors=%d heap_free=%d heap_used=%d "
                 "flags=%d refused_ops=%d" % ((self.name,) + v[:13] + v[14:] + (self.rejected_ops,)))
        if self.monitor is not None:
            n = write_status(self.gossip.framer, self._tx, v, self.gossip._name)
            if self.udp is not None:
                self.udp.send(self.monitor, self._tx, n)
            elif self._status_sock is not None:
                try:
                    self._status_sock.sendto(memoryview(self._tx)[:n], self.monitor)
                except OSError:
                    pass  # no IP network: the monitor is out of reach
        if self.led is not None:
            self.led.value(not self.led.value())

    async def run(self):
        tasks = [asyncio.create_task(self._process()), asyncio.create_task(self._gossip()),
                 asyncio.create_task(self._commit()), asyncio.create_task(self._status())]
        if self.udp is not None:
            tasks.append(asyncio.create_task(self._receive(self.udp, _UDP)))
        if self.espnow is not None:
            tasks.append(asyncio.create_task(self._receive(self.espnow, _ESPNOW)))
        if self.workload is not None:
            tasks.append(asyncio.create_task(self.workload.run()))
        self.log("node %s up: own_sat=%d own_vio=%d, %d constraints, %d nodes known" % (
            (self.name,) + self.own_counts() + (self.state.active_constraint_count(), len(self.state.nodes()))))
        self.report()
        await asyncio.gather(*tasks)

    def shutdown(self):
        """Clean stop: commit what is queued."""
        self.running = False
        self.commit()
        self.report()
        g = self.gossip
        reasons = " ".join("%d:%d" % (r, g.rejected(r)) for r in range(1, 9) if g.rejected(r))
        self.log("node %s stopped; frames rejected by reason: %s" % (self.name, reasons or "none"))


def _drop(buf, n):
    pass


def join_wifi(wifi, log, timeout_ms=20000):
    """Join the access point (blocking, at boot).  ESP-NOW then shares its
    channel.  Returns whether the station is connected."""
    import network
    sta = network.WLAN(network.STA_IF)
    sta.active(True)
    if not sta.isconnected():
        sta.connect(wifi["ssid"], wifi.get("password", ""))
        t0 = ticks_ms()
        while not sta.isconnected() and ticks_diff(ticks_ms(), t0) < timeout_ms:
            sleep_ms_blocking(200)
    log("wifi %s: %s" % (wifi["ssid"], sta.ifconfig()[0] if sta.isconnected() else "not connected"))
    return sta.isconnected()


def main(config_path="config.json", directory=""):
    from ccrdt.config import ConfigError, load
    try:
        cfg = load(config_path)
    except ConfigError as e:
        print("config error:", e)
        return 1
    node = Node(cfg, directory)
    try:
        asyncio.run(node.run())
    except KeyboardInterrupt:
        pass
    finally:
        node.shutdown()
    return 0

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
interval.  A board with no snapshot of its own, or only an older one (the
newest missing or corrupt), goes on as a new incarnation (``ccrdt.store``
says which), so it never counts again what the fleet has already seen.

A local operation is checked at the call against the state and the queue
(id, table room, counter range) and raises there, counted in STATUS, rather
than fail later.  What the commit still cannot apply (frames filled a table
or moved a counter since the call) is kept queued, counted and retried,
never dropped.

A board's frames carry its epoch, raised at every start (``ccrdt.fresh``):
the node writes it to flash before its first frame, STATUS included, and
again when the sequence nears its end, so no frame counter is ever used
twice, and frames recorded earlier are refused everywhere.
"""
import asyncio
import gc
import random

from micropython import const

from ccrdt import CapacityError, raw, wire
from ccrdt.compat import ticks_ms
from ccrdt.gossip import GossipNode
from ccrdt.layout import COUNTER_LIMIT, ROW_LIMIT
from ccrdt.state import id_bytes, new_incarnation, position_pair
from ccrdt.status import FIELDS as STATUS_FIELDS
from ccrdt.proto import PENDING, RUNNING
from ccrdt.status import REASONS_MAX, Uptime
from ccrdt.status import write as write_status
from ccrdt.store import MOVED, NONE, OLDER

# Log lines that tools read (tools/fleet.py checks every commit against them).
LOG_UP = "node %s up: incarnation %d own_sat=%d own_vio=%d"
LOG_COMMIT = "commit own_sat=%d own_vio=%d"
LOG_NEW_LIFE = "a new life as incarnation %d"

_PENDING_MAX = const(32)
_PRESENCE_TICKS = const(10)
# Every so many ticks a ping on a medium without broadcasts names no
# receiver: a peer whose board was reflashed (a new tag at the same address)
# refuses pings for its old tag, and would never be heard again there.  (On
# a broadcast medium it is heard, and its own pings teach its new tag.)
_ANY_TICKS = const(8)
_KINDS = ("satisfied", "violations")
# What a refused local operation raises (at the call, or at the commit).
_REFUSALS = (TypeError, ValueError, CapacityError, OverflowError)


async def sleep_ms(ms):
    if hasattr(asyncio, "sleep_ms"):
        await asyncio.sleep_ms(ms)
    else:
        await asyncio.sleep(ms / 1000)


class RxQueue:
    """A ring of preallocated frame buffers, each with the frame's length,
    the transport it came by and its sender there.  Each transport's
    receive task reads into its own buffer and put() copies the frame in:
    tasks that await at once must not share a slot."""

    def __init__(self, slots):
        self.bufs = [bytearray(wire.FRAME_MAX + 1) for _ in range(slots)]
        # A sender given as a MAC in the receiver's buffer is copied here
        # (made with the first such frame: UDP senders are addresses).
        self.macs = None
        self.senders: list = [None] * slots
        self.lens = [0] * slots
        self.srcs = bytearray(slots)
        self.slots = slots
        self.head = self.count = self.dropped = 0
        self.ready = asyncio.Event()

    def put(self, buf, n, src, sender, mac=None):
        """Queue frame buf[:n] from sender by transport src (if sender is
        mac, a buffer the transport reuses, its bytes are kept); a frame
        that finds the queue full is dropped and counted."""
        if self.count == self.slots:
            self.dropped += 1
            return
        i = (self.head + self.count) % self.slots
        raw.copy(self.bufs[i], 0, buf, 0, min(n, len(buf)))
        if sender is not None and sender is mac:
            if self.macs is None:
                self.macs = [bytearray(6) for _ in range(self.slots)]
            raw.copy(self.macs[i], 0, mac, 0, 6)
            sender = self.macs[i]
        self.senders[i] = sender
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
    def __init__(self, cfg, store, transports=(), log=print, clock=ticks_ms, led=None):
        """The node of config cfg (``ccrdt.config``) on its edges, which
        ``ccrdt.boot`` builds from the config: store (``ccrdt.store``),
        transports (see ``ccrdt.transport``), log(line), clock (the
        millisecond tick counter), led (a ``machine.Pin``, or None).  The
        workload, if any, is attached afterwards (``workload``)."""
        self.cfg = cfg
        self.log = log
        self.name = cfg["node"]
        self._name = id_bytes(self.name, "node id")
        self.store = store
        state, how = store.load(new_incarnation())
        self.gossip = GossipNode(self.name, cfg["key"], cfg["fleet"], state=state)
        self.saved_hash = state.state_hash()
        self._clash_tag = 0  # the last other board logged as using this name
        self._claims = 0  # own_claims() already logged
        if how == NONE:
            log("no snapshot of this board: " + LOG_NEW_LIFE % state.incarnation
                + " (a new board, or its flash was lost: an earlier life's row stays in the"
                " fleet)")
        elif how == MOVED:
            # A cloned image, or this flash in another board: the board
            # that wrote it may live on with this very origin.
            self.gossip.reincarnate(new_incarnation())
            log("this snapshot was written on another chip (a cloned flash?): "
                + LOG_NEW_LIFE % state.incarnation)
        elif how == OLDER or not state.incarnation:
            # What this board did after that snapshot may live on other
            # boards only: counting on from it would reuse dots and counts
            # the fleet has seen.  A new incarnation is safe, at the cost of
            # a node slot; the old row stays, with what the fleet holds of it.
            self.gossip.reincarnate(new_incarnation())
            # A snapshot of version 1 has no incarnation: every board named
            # alike would share one origin, so it takes one now.
            log("booted from an older snapshot, or one without an incarnation: "
                + LOG_NEW_LIFE % state.incarnation)
        self.transports = list(transports)
        # A gateway joins two broadcast media: what one brings is news on
        # the other, so changes heard by broadcast are passed on as well.
        media = sum(1 for t in self.transports if t.broadcasts)
        self.gossip.relay_broadcasts = media > 1
        self._broadcasting = media > 0
        self.queue = RxQueue(cfg["rx_queue"])
        self.pending = []
        self.counts = [0, 0]  # satisfied and violation checks queued
        self.unsaved = False
        self.rx = self.tx = self.tx_bytes = self.errors = self.ticks = 0
        self.refused_ops = self.held_ops = 0
        self._note_ops_left()
        self.uptime = Uptime(clock)
        self.running = True
        self._tx = self.gossip.tx  # one frame buffer: each frame is sent as it is made
        self._reply_src = 0  # index of the transport the frame being handled came by
        self._reply_to = None  # and its sender there (a MAC, an address, a name)
        self._reply = self._send_reply  # bound once: no allocation per frame
        self._bcast = self._send_broadcast
        self.led = led
        self.workload = None
        self._saved_epoch = 0  # the epoch on flash: frames may carry it
        self.unsaved = True  # silent until this start's epoch is on flash
        self._write()

    # ---- what the application calls ----------------------------------
    # Each call raises what the commit would refuse, as far as it can be
    # told now; a refused call changes nothing and is counted (refused_ops).
    def add_constraint(self, cid):
        self._queue("add", cid, self._check_add)

    def remove_constraint(self, cid):
        self._queue("remove", cid, _check_id)

    def update_position(self, pos):
        self._queue("position", pos, position_pair)

    def record_satisfied(self, n=1):
        self._count(0, n)

    def record_violations(self, n=1):
        self._count(1, n)

    @property
    def state(self):
        return self.gossip.state

    def _queue(self, op, arg, check):
        try:
            if len(self.pending) >= _PENDING_MAX:
                raise CapacityError("%d operations wait for the next commit" % _PENDING_MAX)
            check(arg)
            self._check_ops(1)
        except _REFUSALS:
            self.refused_ops += 1
            raise
        self.pending.append((op, arg))

    def _count(self, i, n):
        """Queue n checks of kind i (0 satisfied, 1 violations)."""
        what, queued = _KINDS[i], self.counts[i]
        try:
            if not isinstance(n, int) or isinstance(n, bool):
                raise TypeError("%s count must be int, not %s" % (what, type(n).__name__))
            if n < 0:
                raise ValueError("%s count must be >= 0, got %d" % (what, n))
            own = self.own_counts()[i]
            if own + queued + n >= ROW_LIMIT:
                raise OverflowError("%s counter would reach 3 * 2**62: "
                                    "%d committed, %d queued, %d more"
                                    % (what, own, queued, n))
            if n and not queued:
                self._check_ops(1)  # the commit records each kind as one operation
        except _REFUSALS:
            self.refused_ops += 1
            raise
        self.counts[i] = queued + n

    def _check_ops(self, more):
        """OverflowError if `more` operations, with those queued, could pass
        this node's operation counter (as of the last commit); CapacityError
        if this board has no slot yet and the node table is full (its first
        write needs one: the commit could never apply it)."""
        st = self.state
        if st.node_table.find(st.tag) < 0 and len(st.nodes()) >= st.max_nodes:
            rep = st.node_table.repeated()
            raise CapacityError("node table full: %d nodes, none of them this board's%s"
                                % (st.max_nodes, "; names with several slots: " + ", ".join(
                                    "%s %d" % x for x in rep[:4]) if rep else ""))
        queued = len(self.pending) + self._counts_queued()
        if queued + more > self._ops_left:
            raise OverflowError("operation counter exhausted: %d operations left, %d queued"
                                % (self._ops_left, queued))

    def _counts_queued(self):
        return (1 if self.counts[0] else 0) + (1 if self.counts[1] else 0)

    def _note_ops_left(self):
        self._ops_left = COUNTER_LIMIT - 1 - self.state.operations()

    def _check_add(self, cid):
        id_bytes(cid, "constraint id")
        live = set(self.state.constraints.active_constraints())
        for op, arg in self.pending:  # the set as the commit will find it
            if op == "add":
                live.add(arg)
            elif op == "remove":
                live.discard(arg)
        if cid not in live and len(live) >= self.state.max_constraints:
            raise CapacityError("constraint table full: %d constraints, counting those queued"
                                % len(live))


    # ---- commit --------------------------------------------------------
    def commit(self):
        """Apply the queued operations and write the snapshot if the state
        changed since the last one (gossip counts too: a rebooted board then
        starts from what it knew).  Returns True if a snapshot was written."""
        applied = self._apply() if self.pending or self._counts_queued() else False
        if not (applied or self.unsaved or self.state.state_hash() != self.saved_hash):
            return False
        if self._write():
            self.log(LOG_COMMIT % self.own_counts())
        return not self.unsaved

    def _write(self):
        """Write the snapshot; False if the flash failed (gossip then stays
        silent until a later write succeeds, see above)."""
        st = self.gossip.state
        try:
            self.store.save(st)
        except OSError as e:
            self.unsaved = True
            self.log("snapshot write failed: %s" % e)
            return False
        self.saved_hash = st.state_hash()
        self._saved_epoch = st.epoch
        self.unsaved = False
        return True

    def _apply(self):
        """Apply the queue in order; returns whether anything was applied.
        What the state refuses stays queued, with every later operation on
        the same id (so their order holds), and held_ops counts it."""
        g = self.gossip
        kept, held, why, applied = [], [], None, False
        for op, arg in self.pending:
            key = None if op == "position" else arg
            if key not in held:
                fn = g.add_constraint if op == "add" else (
                    g.remove_constraint if op == "remove" else g.update_position)
                e = _attempt(fn, arg)
                if e is None:
                    applied = True
                    continue
                held.append(key)
                why = why or "%s %r: %s" % (op, arg, e)
            kept.append((op, arg))
        self.pending = kept
        for i, fn in enumerate((g.record_satisfied, g.record_violations)):
            n = self.counts[i]
            if n:
                e = _attempt(fn, n)
                if e is None:
                    applied = True
                    self.counts[i] = 0
                else:
                    why = why or "%d %s: %s" % (n, _KINDS[i], e)
        self.held_ops = len(kept) + self._counts_queued()
        if self.held_ops:
            self.log("commit keeps %d items queued, e.g. %s" % (self.held_ops, why))
        self._note_ops_left()
        return applied

    def own_counts(self):
        """What this board (this incarnation of it) has counted."""
        return self.state.metrics.origin(self.state.tag)

    # ---- frames --------------------------------------------------------
    def _sent(self, ok, n):
        if ok:
            self.tx += 1
            self.tx_bytes += n

    def _send_reply(self, buf, n):
        """Answers go back the way the frame came."""
        if self._reply_to is not None:  # None: handed in by a caller, nobody to answer
            self._sent(self.transports[self._reply_src].send(self._reply_to, buf, n), n)

    def _send_broadcast(self, buf, n):
        ts = self.transports
        for i in range(len(ts)):  # an index loop: no iterator object per frame
            if ts[i].broadcasts:
                self._sent(ts[i].broadcast(buf, n), n)

    def process(self, buf, n, src=0, sender=None):
        """Handle one received frame (never raises); src: the index of the
        transport it came by, sender: its source there, where answers go."""
        self.rx += 1
        g = self.gossip
        self._reply_src = src
        self._reply_to = sender
        # A frame from elsewhere than where its sender was heard validates
        # nothing (a recording of a frame lost here, played from a victim's
        # address, would otherwise earn a full answer there).
        home = sender is None or self.transports[src].peers.home_of(sender,
                                                                    wire.claimed_sender(buf))
        g.handle(buf, n, self._reply if not self.unsaved else _drop, home)
        if sender is not None and g.fresh_tag >= 0:
            # Authentic and fresh: a board of the fleet, at this address.
            self.transports[src].heard(sender, g.fresh_tag, g.fresh_sure)
        if g.own_claims() != self._claims:
            self._claims = g.own_claims()
            self.log("a peer held more of this board's origin than it had: "
                     + LOG_NEW_LIFE % self.state.incarnation)
        if g.clash_tag and g.clash_tag != self._clash_tag:
            self._clash_tag = g.clash_tag
            self.log("another live board is named %s (tag %08x, this one %08x): give boards "
                     "distinct names; both keep their counts" % (self.name, g.clash_tag,
                                                                 self.state.tag))

    def ping_peer(self):
        """One gossip tick: on a broadcast medium, broadcast own changes and
        announce this board while it knows no peer there and every
        _PRESENCE_TICKS ticks; on every transport, ping one random peer
        (by its tag, or without broadcasts every _ANY_TICKS ticks as any
        board)."""
        g, buf = self.gossip, self._tx
        if g.framer.seq_low():
            g.new_epoch()
            self.unsaved = True
            self.commit()
        if self.unsaved:
            return
        self.ticks += 1
        if self._broadcasting:
            g.broadcast(self._bcast)
        for t in self.transports:
            if t.broadcasts and (not t.peer_count() or self.ticks % _PRESENCE_TICKS == 0):
                n = g.presence_into(buf)
                self._sent(t.broadcast(buf, n), n)
            if t.peer_count():
                i = random.getrandbits(16) % t.peer_count()
                any_board = not t.broadcasts and self.ticks % _ANY_TICKS == 0
                n = g.ping_into(buf, False, -1 if any_board else t.peer_tag(i))
                self._sent(t.send_to_peer(i, buf, n), n)

    # ---- tasks ---------------------------------------------------------
    async def _receive(self, src):
        q, t = self.queue, self.transports[src]
        # One byte more than a frame, so that an oversized datagram shows.
        buf, mac = bytearray(wire.FRAME_MAX + 1), bytearray(6)
        while self.running:
            try:
                n = await t.recv_into(buf)
                q.put(buf, n, src, t.sender(mac), mac)
            except Exception as e:  # a socket error, or the queue's MAC copies out of memory
                self.error("receive", e)
                await sleep_ms(100)

    async def _process(self):
        q = self.queue
        while self.running:
            await q.ready.wait()
            while q.count:
                i = q.pop()
                try:
                    self.process(q.bufs[i], q.lens[i], q.srcs[i], q.senders[i])
                except Exception as e:  # a bug must not stop the board
                    self.error("process", e)

    async def _every(self, ms, jitter, step, where):
        """step() every ms milliseconds, plus up to jitter, until the node
        stops; an exception is logged and counted, and the loop goes on."""
        while self.running:
            await sleep_ms(ms + (random.getrandbits(16) % (jitter + 1) if jitter else 0))
            try:
                step()
            except Exception as e:
                self.error(where, e)

    def error(self, where, e):
        """Log and count an exception that a task survived."""
        self.errors += 1
        self.log("error in %s: %r" % (where, e))

    def status_values(self):
        """The fields of a STATUS frame (``ccrdt.status``), by name."""
        st, m = self.state, self.state.metrics
        sat, vio = self.own_counts()
        ms = self.uptime.ms()
        gc.collect()  # what the node keeps, read before this report builds anything
        free = gc.mem_free() if hasattr(gc, "mem_free") else 0
        used = gc.mem_alloc() if hasattr(gc, "mem_alloc") else 0
        return {"hash": st.state_hash(), "constraints": st.active_constraint_count(),
                "nodes": len(st.nodes()), "satisfied": m.total_satisfied(),
                "violations": m.total_violations(), "own_satisfied": sat, "own_violations": vio,
                "rx": self.rx, "tx": self.tx, "tx_bytes": self.tx_bytes,
                "rejected": self.gossip.rejected(), "dropped": self.queue.dropped,
                "errors": self.errors, "uptime_ms": ms, "uptime_s": ms // 1000,
                "heap_free": free, "heap_used": used,
                "flags": self.flags(), "max_nodes": st.max_nodes,
                "max_constraints": st.max_constraints, "refused_ops": self.refused_ops,
                "held_ops": self.held_ops, "clashes": self.gossip.clashes,
                "own_claims": self.gossip.own_claims(), "rejected_by": self.rejected_by(),
                "skipped": self.gossip.senders.skipped,
                "withheld": self.gossip.senders.withheld, "epoch": st.epoch,
                "repeated": sum(c for _, c in st.node_table.repeated())}

    def rejected_by(self):
        """Frames rejected for each reason 1..R, R the highest reason with a
        count: the counts add up to rejected(), so a reason the gossip layer
        adds is reported without a list of reasons here."""
        g = self.gossip
        counts, left = [], g.rejected()
        while left > 0 and len(counts) < REASONS_MAX:
            c = g.rejected(len(counts) + 1)
            counts.append(c)
            left -= c
        return counts

    def flags(self):
        f = 0
        if self.workload is not None and self.workload.running:
            f |= RUNNING
        if self.pending or self._counts_queued() or self.unsaved:
            f |= PENDING
        return f

    def report(self):
        v = self.status_values()
        # Two lines: one of every field would be a ~400-byte string, a block
        # that a 32-bit board's fragmented heap may not have at once.
        half = len(STATUS_FIELDS) // 2
        self.log("status %s %s" % (self.name, _fields(v, STATUS_FIELDS[:half])))
        self.log("status %s %s%s" % (self.name, _fields(v, STATUS_FIELDS[half:]),
                                     _by_reason(v["rejected_by"])))
        if self._saved_epoch == self.state.epoch:  # no frame before its epoch is on flash
            n = write_status(self.gossip.framer, self._tx, v, self._name)
            for t in self.transports:  # each sends it to its monitor, if it has one
                t.status(self._tx, n)
        if self.led is not None:
            self.led.value(not self.led.value())

    async def run(self):
        c = self.cfg
        tasks = [asyncio.create_task(self._process()),
                 asyncio.create_task(self._every(c["gossip_ms"], c["jitter_ms"], self.ping_peer,
                                                 "gossip")),
                 asyncio.create_task(self._every(max(c["snapshot_ms"], 50), 0, self.commit,
                                                 "commit")),
                 asyncio.create_task(self._every(c["status_ms"], 0, self.report, "status"))]
        for i, t in enumerate(self.transports):
            if t.receives:
                tasks.append(asyncio.create_task(self._receive(i)))
            if hasattr(t, "run"):  # a transport that keeps a connection up
                tasks.append(asyncio.create_task(t.run()))
        if self.workload is not None:
            tasks.append(asyncio.create_task(self.workload.run()))
        self.log((LOG_UP + ", %d constraints, %d nodes known") % (
            (self.name, self.state.incarnation) + self.own_counts()
            + (self.state.active_constraint_count(), len(self.state.nodes()))))
        self.report()
        await asyncio.gather(*tasks)

    def serve(self):
        """Run until Ctrl-C (or the end of the run), then stop cleanly."""
        try:
            asyncio.run(self.run())
        except KeyboardInterrupt:
            pass
        finally:
            self.shutdown()
            # Interrupted, MicroPython's asyncio still holds this node's
            # tasks (its queue, the current task); a fresh loop and one empty
            # run let them go, so the REPL (mpremote taking over) has the heap.
            asyncio.new_event_loop().close()
            asyncio.run(_nothing())

    def shutdown(self):
        """Clean stop: commit what is queued."""
        self.running = False
        self.commit()
        self.report()
        self.log("node %s stopped; frames rejected: %d%s" % (
            self.name, self.gossip.rejected(), _by_reason(self.rejected_by())))


async def _nothing():
    pass


def _drop(buf, n):
    pass


def _check_id(cid):
    id_bytes(cid, "constraint id")


def _fields(v, names):
    return " ".join("%s=%d" % (k, v[k]) for k in names)


def _by_reason(counts):
    """The reasons counted, as ' (reason:count ...)', or ''."""
    parts = ["%d:%d" % (r + 1, c) for r, c in enumerate(counts) if c]
    return " (%s)" % " ".join(parts) if parts else ""


def _attempt(fn, arg):
    """fn(arg); the refusal it raised, or None."""
    try:
        fn(arg)
    except _REFUSALS as e:
        return e
    return None

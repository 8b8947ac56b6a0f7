"""The replicated constraint state of one board.

Three CRDTs make one state, each a join-semilattice, so their product is too:

* ``constraints`` - an add-wins observed-remove set without tombstones
  (ORSWOT, Bieniusa et al. 2012, the design of riak_dt_orswot).  Every add
  creates a dot (origin node, counter); an element lives while it has a live
  dot; a causal context records the dots seen, so a dot that is in the other
  side's context but not in its element row was removed there.  Unlike the
  textbook ORSWOT the set is cut into ``SLICES`` independent slices by the
  hash of the id, each with its own context.  A slice projected onto any
  subset of origins is itself a valid state, which is what lets a gossip
  frame of 250 bytes carry a self-contained delta (``ccrdt.delta``).
  Memory: one counter per (constraint, node) and per (slice, node).
* ``metrics`` - per-node G-counters of satisfied checks and violations,
  u64 like the Rust crate, and of local operations (``version``): the
  vector clock of the state.
* ``position`` - an Eisenstein-integer register: the lowest norm
  a*a - a*b + b*b wins; ties go to the higher logical clock, then the lower
  writer tag, then (a, b), so every replica picks the same value without a
  wall clock.

Nodes are keyed by ``origin_tag(name, incarnation)``, 30 bits: a small int
on every port (see ``origin_tag`` for the incarnation).  Tables
are fixed-size arrays sized at construction; a full table raises
``CapacityError`` before anything changes.

Counter ranges.  Dots, contexts, versions and the position clock are u32 on
the wire but stay below ``COUNTER_LIMIT`` (3 * 2**28): small ints on a
32-bit port, so joins never allocate, and the top quarter of the 30-bit
range is never valid.  Satisfied and violation counts stay below
``ROW_LIMIT`` (3 * 2**62), the top quarter of u64.  A local operation that
would reach a limit raises ``OverflowError`` before changing anything (the
position clock, which only breaks ties, stops at its limit instead); a remote
value at or above one is refused (``ccrdt.delta``), and a frame that holds
more of this node's own origin than it has makes it go on as a new
incarnation (``ccrdt.gossip``), so no frame can stop a board counting.
"""
from array import array
import os
from struct import pack_into
import micropython
from micropython import const

from ccrdt import CapacityError, delta, fnv, raw
from ccrdt.layout import (COUNTER_LIMIT, FREE as _FREE, ID_MAX, ROW_LIMIT, SLICE_ORIGIN_MAX,
                          SLICES, STRIDE as _STRIDE, TAG_LIMIT)
_I32_MIN = -(1 << 31)
_I32_MAX = (1 << 31) - 1

# Item kinds of the state hash (first u32 of each hashed item).
_H_CTX = const(0x43)
_H_DOT = const(0x44)
_H_ROW = const(0x4D)
_H_POS = const(0x50)


def id_bytes(value, what):
    """UTF-8 bytes of a constraint id or node name, checked."""
    if not isinstance(value, str):
        raise TypeError("%s must be str, not %s" % (what, type(value).__name__))
    b = value.encode()
    if not 0 < len(b) <= ID_MAX:
        raise ValueError("%s must be 1..%d bytes of UTF-8: %r" % (what, ID_MAX, value))
    return b


def _count(n, what):
    if not isinstance(n, int) or isinstance(n, bool):
        raise TypeError("%s must be int" % what)
    if n < 0:
        raise ValueError("%s must be >= 0, got %d" % (what, n))
    return n


def get64(arr, i):
    """The u64 held as the (low, high) u32 pair i of arr."""
    return arr[2 * i] | (arr[2 * i + 1] << 32)


def position_pair(pos):
    """(a, b) of a proposed position, checked: two 32-bit ints."""
    if (not isinstance(pos, (tuple, list)) or len(pos) != 2
            or any(not isinstance(v, int) or isinstance(v, bool) or not _I32_MIN <= v <= _I32_MAX
                   for v in pos)):
        raise ValueError("position must be a pair of 32-bit ints (a, b), got %r" % (pos,))
    return pos[0], pos[1]


def norm(a, b):
    return a * a - a * b + b * b


class PositionRegister:
    """Lowest-norm-wins register of an Eisenstein integer (a, b)."""

    def __init__(self):
        self.a = self.b = self.clock = self.writer = 0
        self.is_set = False
        # The held value as the wire writes it (i32 a, i32 b, u32 clock, u32
        # writer): a part that carries the same bytes is recognised without
        # computing a norm, which is a heap int for large coordinates.
        self.packed = bytearray(16)

    def holds(self, buf, off):
        """True if buf[off:off+16] is the held value in wire form."""
        return self.is_set and raw.equal(self.packed, 0, buf, off, 16)

    @property
    def position(self):
        return (self.a, self.b) if self.is_set else None

    @property
    def norm(self):
        return norm(self.a, self.b) if self.is_set else None

    def beats(self, a, b, clock, writer):
        """True if (a, b, clock, writer) is below the held value in the join order."""
        if not self.is_set:
            return True
        n, m = norm(a, b), norm(self.a, self.b)
        if n != m:
            return n < m
        if clock != self.clock:
            return clock > self.clock
        if writer != self.writer:
            return writer < self.writer
        return (a, b) < (self.a, self.b)

    def join(self, a, b, clock, writer):
        """Keep the winner; True if the held value changed."""
        if not self.beats(a, b, clock, writer):
            return False
        self.a, self.b, self.clock, self.writer = a, b, clock, writer
        self.is_set = True
        pack_into("<iiII", self.packed, 0, a, b, clock, writer)
        return True

    def __str__(self):
        return "unset" if not self.is_set else "(%d, %d) norm %d" % (self.a, self.b, self.norm)


class ConstraintSet:
    """Read view of the add-wins constraint set."""

    def __init__(self, state):
        self._s = state

    def contains(self, cid):
        return self._s._find_id(id_bytes(cid, "constraint id")) >= 0

    __contains__ = contains

    def active_constraints(self):
        """The live constraint ids, sorted."""
        s = self._s
        return sorted(s._id_str(e) for e in range(s.max_constraints) if s._eslice[e] != _FREE)

    def __len__(self):
        return self._s._live


class Metrics:
    """Read view of the per-node satisfied / violation G-counters."""

    def __init__(self, state):
        self._s = state

    def total_satisfied(self):
        s = self._s
        return sum(get64(s._sat, i) for i in range(s._nn))

    def total_violations(self):
        s = self._s
        return sum(get64(s._vio, i) for i in range(s._nn))

    def origin(self, tag):
        """(satisfied, violations) counted by one origin (one incarnation of
        a board, by its tag)."""
        s = self._s
        i = s._find_node(tag)
        return (get64(s._sat, i), get64(s._vio, i)) if i >= 0 else (0, 0)

    def node_satisfied(self, node):
        """Satisfied checks counted by the board(s) named node, every
        incarnation included."""
        s = self._s
        return sum(get64(s._sat, i) for i in s.slots_named(node))

    def node_violations(self, node):
        s = self._s
        return sum(get64(s._vio, i) for i in s.slots_named(node))


def _valid_name(buf, off, n):
    return 0 < n <= ID_MAX and raw.utf8(buf, off, n)


def origin_tag(name, incarnation=0):
    """The 30-bit key of a node: FNV-1a of its name's bytes, then of its
    incarnation (if not 0), folded.  A board takes a new incarnation when
    it starts with no snapshot of its own, so a replaced board, or two
    boards given one name, never share an origin: none reuses the other's
    dots or counter row."""
    st = array("I", [0])
    fnv.reset(st, 0)
    fnv.update(st, 0, name, 0, len(name))
    if incarnation:
        fnv.update_u32(st, 0, incarnation)
    return fnv.fold30(st, 0)


def new_incarnation():
    """A random non-zero 30-bit incarnation for a new life of a board: from
    the hardware RNG (os.urandom on ESP32), or where a port lacks it from its
    random module (the RV32 test board)."""
    if hasattr(os, "urandom"):
        b = os.urandom(4)
        return (b[0] | b[1] << 8 | b[2] << 16 | (b[3] & 0x3F) << 24) or 1
    import random
    return random.getrandbits(30) or 1


class ConstraintState:
    def __init__(self, node_id, max_nodes=32, max_constraints=64, incarnation=0):
        name = id_bytes(node_id, "node id")
        if not 1 <= max_nodes <= 255 or not 1 <= max_constraints <= 254:
            raise ValueError("capacities: 1..255 nodes, 1..254 constraints")
        if not isinstance(incarnation, int) or not 0 <= incarnation < TAG_LIMIT:
            raise ValueError("incarnation must be 0..2**30-1")
        self.node_id = node_id
        self.incarnation = incarnation
        self.max_nodes = max_nodes
        self.max_constraints = max_constraints
        nn, ne = max_nodes, max_constraints
        # Node table.  Rows are never freed (G-counters).  This node takes a
        # slot when it first writes: a passive replica (a monitor, a gateway,
        # a board that only listens) can hold a whole fleet of max_nodes.
        self._ntag = raw.zeros32(nn)
        self._nname = bytearray(nn * _STRIDE)  # length 0: name not heard yet
        # u64 counters as (low, high) u32 pairs: reading an array('Q')
        # element allocates a long on MicroPython, reading 'I' does not.
        self._sat = raw.zeros32(2 * nn)
        self._vio = raw.zeros32(2 * nn)
        self._ver = raw.zeros32(nn)
        self._nn = 0
        # Constraint table: id bytes, id hash, slice (or _FREE), dot row.
        self._eid = bytearray(ne * _STRIDE)
        self._ehash = raw.zeros32(ne)
        self._eslice = bytearray(b"\xff" * ne)
        self._live = 0
        self._dots = raw.zeros32(ne * nn)  # [element * nn + node]
        self._ctx = raw.zeros32(SLICES * nn)  # [slice * nn + node]
        self.position = PositionRegister()
        # Hash cache: one order-independent sum of item hashes per slice.
        self._shash = raw.zeros32(SLICES)
        self._dirty = bytearray(b"\x01" * SLICES)
        self.mine = bytearray(SLICES)  # slices this node's own operations changed
        self._hst = array("I", [0, 0])
        self._hash = 0
        self._hash_ok = False
        self.tag = origin_tag(name, incarnation)
        self._name = name
        self.constraints = ConstraintSet(self)
        self.metrics = Metrics(self)

    # ---- tables -------------------------------------------------------
    def _find_node(self, tag):
        return raw.find32(self._ntag, self._nn, tag, 0)

    def _add_node(self, tag, name=None):
        if self._nn == self.max_nodes:
            raise CapacityError("node table full: %d nodes" % self.max_nodes)
        i = self._nn
        self._ntag[i] = tag
        if name:
            self._set_name(i, name, 0, len(name))
        self._nn += 1
        return i

    def _set_name(self, i, buf, off, n):
        o = i * _STRIDE
        self._nname[o] = n
        raw.copy(self._nname, o + 1, buf, off, n)

    def name_matches(self, tag, buf, off, n, incarnation):
        """True if buf[off:off+n] is a valid name that, with incarnation,
        hashes to tag: what a node says its name is can then be believed,
        and a name cannot be stuck to another node's tag."""
        if not _valid_name(buf, off, n):
            return False
        st = self._hst
        fnv.reset(st, 1)
        fnv.update(st, 1, buf, off, n)
        if incarnation:
            fnv.update_u32(st, 1, incarnation)
        return fnv.fold30(st, 1) == tag

    def is_own_name(self, buf, off, n):
        return n == len(self._name) and raw.equal(buf, off, self._name, 0, n)

    def remember_name(self, tag, buf, off, n):
        """Keep the name of a known node that has none yet (names are not
        replicated: each board learns them from PINGs, checked first by
        name_matches, or reads them back from its own snapshot).  False if
        it is not a valid name."""
        if not _valid_name(buf, off, n):
            return False
        i = self._find_node(tag)
        if i >= 0 and self._nname[i * _STRIDE] == 0:
            self._set_name(i, buf, off, n)
        return True

    def slots_named(self, name):
        """Slots of the nodes known here under name (several after a board
        was replaced: each incarnation keeps its own row)."""
        b = id_bytes(name, "node id")
        first = origin_tag(b)  # incarnation 0: known by its tag alone
        out = []
        for i in range(self._nn):
            o = i * _STRIDE
            if self._ntag[i] == first or (self._nname[o] == len(b)
                                          and raw.equal(self._nname, o + 1, b, 0, len(b))):
                out.append(i)
        return out

    def node_name(self, i):
        o = i * _STRIDE
        n = self._nname[o]
        return bytes(self._nname[o + 1:o + 1 + n]).decode() if n else "#%08x" % self._ntag[i]

    def nodes(self):
        """Names of the nodes this state has heard of (tag in hex if no name yet)."""
        return [self.node_name(i) for i in range(self._nn)]

    def _find_id(self, buf, off=0, n=-1, h=-1):
        """Slot of the constraint whose id is buf[off:off+n], or -1."""
        if n < 0:
            n = len(buf)
        if h < 0:
            st = self._hst
            fnv.reset(st, 1)
            fnv.update(st, 1, buf, off, n)
            h = fnv.fold30(st, 1)
        ids, eh = self._eid, self._ehash
        e = raw.find32(eh, self.max_constraints, h, 0)
        while e >= 0:
            o = e * _STRIDE
            if self._eslice[e] != _FREE and ids[o] == n and raw.equal(ids, o + 1, buf, off, n):
                return e
            e = raw.find32(eh, self.max_constraints, h, e + 1)
        return -1

    def _new_element(self, buf, off, n, h):
        es = self._eslice
        for e in range(self.max_constraints):
            if es[e] == _FREE:
                o = e * _STRIDE
                self._eid[o] = n
                raw.copy(self._eid, o + 1, buf, off, n)
                self._ehash[e] = h
                es[e] = h % SLICES
                self._live += 1
                return e
        raise CapacityError("constraint table full: %d constraints" % self.max_constraints)

    def _free_element(self, e):
        self._eslice[e] = _FREE
        self._live -= 1

    def _id_str(self, e):
        o = e * _STRIDE
        return bytes(self._eid[o + 1:o + 1 + self._eid[o]]).decode()

    def _origin_count(self, s, node):
        """Live constraints of slice s that hold a dot of node."""
        nn, es, dots = self.max_nodes, self._eslice, self._dots
        c = 0
        for e in range(self.max_constraints):
            if es[e] == s and dots[e * nn + node]:
                c += 1
        return c

    def _touch(self, s):
        self._dirty[s] = 1
        self._hash_ok = False

    def _touch_mine(self, s):
        self.mine[s] = 1
        self._touch(s)

    def _row_live(self, n):
        """True if node n's counter row is not all zero (counter words are
        tested in viper: read into Python they could be heap ints)."""
        return self._ver[n] or raw.any32(self._sat, 2 * n, 2) or raw.any32(self._vio, 2 * n, 2)

    def _row_in(self, n, s):
        """True if node n's counter row belongs to slice s and is not all zero."""
        return self._ntag[n] % SLICES == s and self._row_live(n)

    def _own(self):
        """This node's slot, taken at its first write; raises before a local
        operation changes anything if the table or its count is full."""
        me = self._find_node(self.tag)
        if me < 0:
            return self._add_node(self.tag, self._name)
        if self._ver[me] >= COUNTER_LIMIT - 1:
            raise OverflowError("operation counter exhausted")
        return me

    def _tick(self, me):
        """Count one local operation of this node (its vector clock entry)."""
        self._ver[me] += 1
        self._touch_mine(self.tag % SLICES)

    def operations(self):
        """Local operations this node (this incarnation) has issued: its
        entry of the vector clock, without building the clock."""
        me = self._find_node(self.tag)
        return self._ver[me] if me >= 0 else 0

    def clock(self):
        """The vector clock of this state: per node, its operations seen here."""
        from ccrdt.vclock import VectorClock
        c = VectorClock(self.max_nodes)
        for n in range(self._nn):
            c.observe(self._ntag[n], self._ver[n])
        return c

    # ---- local operations ----------------------------------------------
    def add_constraint(self, cid):
        """Add (or re-add) cid with a new dot of this node; it then wins over
        any concurrent remove that has not seen this dot."""
        b = id_bytes(cid, "constraint id")
        h = fnv.tag30(b)
        s = h % SLICES
        e = self._find_id(b, 0, len(b), h)
        if e < 0 and self._live == self.max_constraints:
            raise CapacityError("constraint table full: %d constraints" % self.max_constraints)
        me = self._own()
        nn = self.max_nodes
        mine = self._origin_count(s, me) - (1 if e >= 0 and self._dots[e * nn + me] else 0)
        if mine >= SLICE_ORIGIN_MAX:
            raise CapacityError("slice %d already holds %d constraints of this node" % (s, mine))
        c = self._ctx[s * nn + me] + 1
        if c >= COUNTER_LIMIT:
            raise OverflowError("dot counter of slice %d exhausted" % s)
        if e < 0:
            e = self._new_element(b, 0, len(b), h)
        base = e * nn
        for n in range(nn):
            self._dots[base + n] = 0
        self._dots[base + me] = c
        self._ctx[s * nn + me] = c
        self._touch_mine(s)
        self._tick(me)

    def reincarnate(self, incarnation):
        """Go on as a new incarnation of this board (one that could not get
        its own history back): the old incarnation's row and dots stay, as
        another node's, and this one's first write takes a new slot."""
        self.incarnation = incarnation
        self.tag = origin_tag(self._name, incarnation)

    def own_constraints(self):
        """The live constraint ids that hold a dot of this node."""
        me, nn = self._find_node(self.tag), self.max_nodes
        if me < 0:
            return []
        return [self._id_str(e) for e in range(self.max_constraints)
                if self._eslice[e] != _FREE and self._dots[e * nn + me]]

    def remove_constraint(self, cid):
        """Remove cid as observed here; returns False if it was not present."""
        e = self._find_id(id_bytes(cid, "constraint id"))
        if e < 0:
            return False
        me = self._own()
        base, nn = e * self.max_nodes, self.max_nodes
        for n in range(nn):
            self._dots[base + n] = 0
        self._touch_mine(self._eslice[e])
        self._free_element(e)
        self._tick(me)
        return True

    def _bump(self, arr, n, what):
        _count(n, what)
        me = self._find_node(self.tag)
        v = (get64(arr, me) if me >= 0 else 0) + n
        if v >= ROW_LIMIT:
            raise OverflowError("%s counter would reach 3 * 2**62" % what)
        me = self._own()
        arr[2 * me] = v & 0xFFFFFFFF
        arr[2 * me + 1] = v >> 32
        self._tick(me)

    def record_satisfied(self, n=1):
        self._bump(self._sat, n, "satisfied")

    def record_violations(self, n=1):
        self._bump(self._vio, n, "violations")

    def update_position(self, pos):
        """Propose (a, b); it is kept only if it wins the lowest-norm join.
        Returns True if the register changed."""
        a, b = position_pair(pos)
        p = self.position
        # The clock only breaks ties of equal norm: at its limit it stays
        # there (a forged clock near the limit cannot stop updates).
        clock = min(p.clock + 1, COUNTER_LIMIT - 1)
        if not p.beats(a, b, clock, self.tag):
            return False
        me = self._own()
        p.join(a, b, clock, self.tag)
        self._touch_mine(0)
        self._tick(me)
        return True

    # ---- queries ------------------------------------------------------
    def satisfaction_rate(self):
        s, v = self.metrics.total_satisfied(), self.metrics.total_violations()
        return 1.0 if s + v == 0 else s / (s + v)

    def active_constraint_count(self):
        return self._live

    # ---- hashing ------------------------------------------------------
    @micropython.native
    def _slice_hash(self, s):
        """Sum over the slice's items of the mixed FNV-1a of each item's
        canonical bytes: independent of slot order, so equal content hashes
        equal (``fnv.mix_into`` says why the mixing).  Counter words are fed
        from their arrays, never read into Python."""
        st, acc = self._hst, self._shash
        nn, tags = self.max_nodes, self._ntag
        acc[s] = 0
        for n in range(self._nn):
            c = self._ctx[s * nn + n]
            if c:
                fnv.reset(st, 0)
                fnv.update_u32(st, 0, _H_CTX | (s << 8))
                fnv.update_u32(st, 0, tags[n])
                fnv.update_u32(st, 0, c)
                fnv.mix_into(acc, s, st, 0)
        ids, es = self._eid, self._eslice
        for e in range(self.max_constraints):
            if es[e] == s:
                o = e * _STRIDE
                for n in range(self._nn):
                    d = self._dots[e * nn + n]
                    if d:
                        fnv.reset(st, 0)
                        fnv.update_u32(st, 0, _H_DOT | (ids[o] << 8))
                        fnv.update(st, 0, ids, o + 1, ids[o])
                        fnv.update_u32(st, 0, tags[n])
                        fnv.update_u32(st, 0, d)
                        fnv.mix_into(acc, s, st, 0)
        for n in range(self._nn):
            if self._row_in(n, s):
                fnv.reset(st, 0)
                fnv.update_u32(st, 0, _H_ROW)
                fnv.update_u32(st, 0, tags[n])
                fnv.update(st, 0, self._sat, 8 * n, 8)
                fnv.update(st, 0, self._vio, 8 * n, 8)
                fnv.update_u32(st, 0, self._ver[n])
                fnv.mix_into(acc, s, st, 0)
        p = self.position
        if s == 0 and p.is_set:
            fnv.reset(st, 0)
            fnv.update_u32(st, 0, _H_POS)
            fnv.update_u32(st, 0, p.a)
            fnv.update_u32(st, 0, p.b)
            fnv.update_u32(st, 0, p.clock)
            fnv.update_u32(st, 0, p.writer)
            fnv.mix_into(acc, s, st, 0)
        self._dirty[s] = 0

    def slice_hashes(self):
        """The per-slice hashes (array of SLICES u32), brought up to date."""
        for s in range(SLICES):
            if self._dirty[s]:
                self._slice_hash(s)
        return self._shash

    def state_hash(self):
        """30-bit FNV-1a digest of the whole replicated content."""
        if not self._hash_ok:
            sh, st = self.slice_hashes(), self._hst
            fnv.reset(st, 0)
            fnv.update(st, 0, sh, 0, 4 * SLICES)
            self._hash = fnv.fold30(st, 0)
            self._hash_ok = True
        return self._hash

    # ---- merge, equality, snapshots --------------------------------------
    def merge(self, other):
        """Join other into this state, in place.  Returns True if it changed.
        Runs other's delta parts through the same code as the wire."""
        return delta.merge_into(self, other)

    def merged(self, other):
        m = self.copy()
        m.merge(other)
        return m

    def copy(self):
        """An equal state (the same node, names included), made by a merge
        into an empty one: no snapshot bytes in between."""
        c = ConstraintState(self.node_id, self.max_nodes, self.max_constraints, self.incarnation)
        c.merge(self)
        for i in range(self._nn):
            o = i * _STRIDE
            c.remember_name(self._ntag[i], self._nname, o + 1, self._nname[o])
        return c

    def encode(self):
        return delta.encode_snapshot(self)

    def write_snapshot(self, f):
        """Write encode()'s bytes to the file f piece by piece, never holding
        them whole (see ``delta.write_snapshot``)."""
        delta.write_snapshot(self, lambda buf, n: f.write(memoryview(buf)[:n]))

    @staticmethod
    def decode(data, node_id, max_nodes=None, max_constraints=None):
        """Rebuild a state from encode()'s bytes; ValueError if they are
        corrupt.  Its tables have the snapshot's sizes, or the sizes given
        (a board whose config changed them; CapacityError if the content
        does not fit)."""
        return delta.decode_snapshot(data, lambda nodes, constraints, incarnation: ConstraintState(
            node_id, max_nodes or nodes, max_constraints or constraints, incarnation))

    def _canonical(self):
        tags, nn = self._ntag, self.max_nodes
        ctx = sorted((s, tags[n], self._ctx[s * nn + n])
                     for s in range(SLICES) for n in range(self._nn) if self._ctx[s * nn + n])
        dots = sorted((self._id_str(e), tags[n], self._dots[e * nn + n])
                      for e in range(self.max_constraints) if self._eslice[e] != _FREE
                      for n in range(self._nn) if self._dots[e * nn + n])
        rows = sorted((tags[n], get64(self._sat, n), get64(self._vio, n), self._ver[n])
                      for n in range(self._nn) if self._row_live(n))
        p = self.position
        pos = (p.a, p.b, p.clock, p.writer) if p.is_set else None
        return ctx, dots, rows, pos

    def __eq__(self, other):
        return isinstance(other, ConstraintState) and self._canonical() == other._canonical()

    def __ne__(self, other):
        return not self.__eq__(other)

    def __str__(self):
        return "ConstraintState(%s: %d constraints, %d nodes, satisfied %d, violations %d, rate %.3f, position %s, hash %08x)" % (
            self.node_id, self._live, self._nn, self.metrics.total_satisfied(),
            self.metrics.total_violations(), self.satisfaction_rate(), self.position, self.state_hash())

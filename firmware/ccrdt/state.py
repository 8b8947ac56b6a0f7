"""The replicated constraint state of one board.

Three CRDTs make one state, each a join-semilattice, so their product is too;
each is one component with the same small interface (local operations, its
section of a delta part written, checked and joined, its items of a slice
hash, its equality in place):

* ``constraints`` - the add-wins set of constraint ids (``ccrdt.awset``),
  cut into ``SLICES`` slices by the hash of the id, which is what lets a
  gossip frame of 250 bytes carry a self-contained delta (``ccrdt.delta``).
* ``metrics`` - per-node G-counters of satisfied checks and violations,
  u64 like the Rust crate, and of local operations (``version``): the
  vector clock of the state (``ccrdt.counters``).
* ``position`` - the lowest-norm Eisenstein-integer register
  (``ccrdt.register``).

The state owns what they share: the node table (``ccrdt.nodes``), the hash
cache and the part reader and writer.  Nodes are keyed by
``origin_tag(name, incarnation)``, 30 bits: a small int on every port.
Tables are fixed-size arrays sized at construction; a full table raises
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
import os
from array import array

from ccrdt import CapacityError, delta, fnv, raw
from ccrdt.awset import AWSet
from ccrdt.counters import SATISFIED, VIOLATIONS, Counters
from ccrdt.layout import COUNTER_LIMIT, ROW_LIMIT, SLICES, STRIDE, TAG_LIMIT
from ccrdt.nodes import NodeTable, id_bytes, origin_tag, valid_name
from ccrdt.register import PositionRegister, position_pair


def _count(n, what):
    if not isinstance(n, int) or isinstance(n, bool):
        raise TypeError("%s must be int" % what)
    if n < 0:
        raise ValueError("%s must be >= 0, got %d" % (what, n))
    return n


def new_incarnation():
    """A random non-zero 30-bit incarnation for a new life of a board: from
    the hardware RNG (os.urandom on ESP32), or where a port lacks it from its
    random module (the RV32 test board)."""
    if hasattr(os, "urandom"):
        b = os.urandom(4)
        return (b[0] | b[1] << 8 | b[2] << 16 | (b[3] & 0x3F) << 24) or 1
    import random
    return random.getrandbits(30) or 1


def _ignore(s):
    pass


class ConstraintState:
    def __init__(self, node_id, max_nodes=32, max_constraints=64, incarnation=0):
        name = id_bytes(node_id, "node id")
        if not 1 <= max_nodes <= 255 or not 1 <= max_constraints <= 254:
            raise ValueError("capacities: 1..255 nodes, 1..254 constraints")
        if not isinstance(incarnation, int) or not 0 <= incarnation < TAG_LIMIT:
            raise ValueError("incarnation must be 0..2**30-1")
        self.node_id = node_id
        self.incarnation = incarnation
        # What a snapshot keeps of the board itself, beside the incarnation:
        # its frames' epoch (``ccrdt.gossip``) and the fleet, key and chip
        # it belongs to (``ccrdt.store``).  Neither is replicated.
        self.epoch = 0
        self.owner = b""
        self.max_nodes = max_nodes
        self.max_constraints = max_constraints
        # This node takes a slot when it first writes: a passive replica (a
        # monitor, a gateway, a board that only listens) can hold a whole
        # fleet of max_nodes.
        self.node_table = NodeTable(max_nodes)
        self.constraints = AWSet(self.node_table, max_constraints)
        self.metrics = Counters(self.node_table)
        self.position = PositionRegister(self.node_table)
        # Hash cache: one order-independent sum of item hashes per slice.
        self._shash = raw.zeros32(SLICES)
        self._dirty = bytearray(b"\x01" * SLICES)
        # Called with each slice a local operation changed (gossip registers
        # itself here, to broadcast the board's own changes).
        self.on_local_change = _ignore
        self._hst = array("I", [0, 0])
        self._hash = 0
        self._hash_ok = False
        self.tag = origin_tag(name, incarnation)
        self._name = name
        self._reader = self._writer = None

    def part_reader(self):
        """The reader that joins delta parts into this state (made at its
        first use: a state only merged from never needs one)."""
        if self._reader is None:
            self._reader = delta.PartReader(self)
        return self._reader

    def part_writer(self):
        """The writer that cuts this state into delta parts (one per state:
        each type keeps its cursor through the slice)."""
        if self._writer is None:
            self._writer = delta.PartWriter(self)
        return self._writer

    # ---- nodes ----------------------------------------------------------
    def name_matches(self, tag, buf, off, n, incarnation):
        """True if buf[off:off+n] is a valid name that, with incarnation,
        hashes to tag: what a node says its name is can then be believed,
        and a name cannot be stuck to another node's tag."""
        if not valid_name(buf, off, n):
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
        if not valid_name(buf, off, n):
            return False
        i = self.node_table.find(tag)
        if i >= 0 and not self.node_table.has_name(i):
            self.node_table.set_name(i, buf, off, n)
        return True

    def slots_named(self, name):
        """Slots of the nodes known here under name (every incarnation)."""
        return self.node_table.slots_named(name)

    def node_name(self, i):
        return self.node_table.name(i)

    def nodes(self):
        """Names of the nodes this state has heard of (tag in hex if no name yet)."""
        return [self.node_table.name(i) for i in range(self.node_table.count)]

    def touch(self, s):
        """Slice s changed: its hash is out of date."""
        self._dirty[s] = 1
        self._hash_ok = False

    def _touch_own(self, s):
        """Slice s changed by a local operation."""
        self.on_local_change(s)
        self.touch(s)

    def _own(self):
        """This node's slot, taken at its first write; raises before a local
        operation changes anything if the table or its count is full."""
        me = self.node_table.find(self.tag)
        if me < 0:
            return self.node_table.add(self.tag, self._name)
        if self.metrics.version(me) >= COUNTER_LIMIT - 1:
            raise OverflowError("operation counter exhausted")
        return me

    def _tick(self, me):
        """Count one local operation of this node (its vector clock entry)."""
        self.metrics.tick(me)
        self._touch_own(self.tag % SLICES)

    def operations(self):
        """Local operations this node (this incarnation) has issued: its
        entry of the vector clock, without building the clock."""
        me = self.node_table.find(self.tag)
        return self.metrics.version(me) if me >= 0 else 0

    def clock(self):
        """The vector clock of this state: per node, its operations seen here."""
        from ccrdt.vclock import VectorClock
        c, nodes = VectorClock(self.max_nodes), self.node_table
        for n in range(nodes.count):
            c.observe(nodes.tags[n], self.metrics.version(n))
        return c

    # ---- local operations ----------------------------------------------
    def add_constraint(self, cid):
        """Add (or re-add) cid with a new dot of this node; it then wins over
        any concurrent remove that has not seen this dot."""
        b = id_bytes(cid, "constraint id")
        h = fnv.tag30(b)
        cs = self.constraints
        e = cs.find(b, 0, len(b), h)
        if e < 0 and len(cs) == self.max_constraints:
            raise CapacityError("constraint table full: %d constraints" % self.max_constraints)
        me = self._own()
        self._touch_own(cs.add(b, h, e, me))
        self._tick(me)

    def reincarnate(self, incarnation):
        """Go on as a new incarnation of this board (one that could not get
        its own history back): the old incarnation's row and dots stay, as
        another node's, and this one's first write takes a new slot."""
        self.incarnation = incarnation
        self.tag = origin_tag(self._name, incarnation)

    def own_constraints(self):
        """The live constraint ids that hold a dot of this node."""
        me = self.node_table.find(self.tag)
        return self.constraints.owned_by(me) if me >= 0 else []

    def remove_constraint(self, cid):
        """Remove cid as observed here; returns False if it was not present."""
        e = self.constraints.find(id_bytes(cid, "constraint id"))
        if e < 0:
            return False
        me = self._own()
        self._touch_own(self.constraints.remove(e))
        self._tick(me)
        return True

    def _bump(self, kind, n, what):
        _count(n, what)
        m = self.metrics
        v = m.count(kind, self.node_table.find(self.tag)) + n
        if v >= ROW_LIMIT:
            raise OverflowError("%s counter would reach 3 * 2**62" % what)
        me = self._own()
        m.set_count(kind, me, v)
        self._tick(me)

    def record_satisfied(self, n=1):
        self._bump(SATISFIED, n, "satisfied")

    def record_violations(self, n=1):
        self._bump(VIOLATIONS, n, "violations")

    def update_position(self, pos):
        """Propose (a, b); it is kept only if it wins the lowest-norm join.
        Returns True if the register changed."""
        a, b = position_pair(pos)
        p = self.position
        clock = p.local_clock()
        if not p.beats(a, b, clock, self.tag):
            return False
        me = self._own()
        p.join(a, b, clock, self.tag)
        self._touch_own(0)
        self._tick(me)
        return True

    # ---- queries ------------------------------------------------------
    def satisfaction_rate(self):
        s, v = self.metrics.total_satisfied(), self.metrics.total_violations()
        return 1.0 if s + v == 0 else s / (s + v)

    def active_constraint_count(self):
        return len(self.constraints)

    # ---- hashing ------------------------------------------------------
    def slice_hashes(self):
        """The per-slice hashes (array of SLICES u32), brought up to date.
        A slice's hash is the sum of its items' mixed FNV-1a hashes, each
        type adding its own: independent of slot order, so equal content
        hashes equal (``fnv.mix_into`` says why the mixing)."""
        acc, st = self._shash, self._hst
        for s in range(SLICES):
            if self._dirty[s]:
                acc[s] = 0
                self.constraints.hash_into(s, acc, st)
                self.metrics.hash_into(s, acc, st)
                self.position.hash_into(s, acc, st)
                self._dirty[s] = 0
        return acc

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
        c.epoch, c.owner = self.epoch, self.owner
        c.merge(self)
        nodes = self.node_table
        for i in range(nodes.count):
            o = i * STRIDE
            c.remember_name(nodes.tags[i], nodes.names, o + 1, nodes.names[o])
        return c

    def encode(self):
        return delta.encode_snapshot(self)

    def write_snapshot(self, f):
        """Write encode()'s bytes to the file f piece by piece, never holding
        them whole (see ``delta.write_snapshot``)."""
        delta.write_snapshot(self, lambda buf, n: f.write(memoryview(buf)[:n]))

    def __eq__(self, other):
        """Equal replicated content, compared in place (no table-sized lists,
        which a small board's heap would not hold); != follows."""
        return (isinstance(other, ConstraintState) and self.position.equal(other.position)
                and self.metrics.equal(other.metrics)
                and self.constraints.equal(other.constraints))

    def __str__(self):
        return ("ConstraintState(%s: %d constraints, %d nodes, satisfied %d, violations %d,"
                " rate %.3f, position %s, hash %08x)") % (
            self.node_id, len(self.constraints), self.node_table.count,
            self.metrics.total_satisfied(), self.metrics.total_violations(),
            self.satisfaction_rate(), self.position.position, self.state_hash())

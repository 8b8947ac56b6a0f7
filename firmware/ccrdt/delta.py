"""Delta parts: the one binary form of state, used by merge, the wire and snapshots.

A *part* is the projection of one slice of a state onto a subset of origin
nodes, plus some counter rows and (slice 0) the position register.  Each part
is itself a valid state (the join-decomposition of delta-state CRDTs,
Almeida, Shoker & Baquero), so a receiver joins it on its own: nothing needs
reassembly, and a lost part only delays its own piece.  A slice is cut into
as many parts of at most ``PART_MAX`` bytes as it needs.

Part layout (little-endian): u8 slice, then one section per replicated type,
each written, checked and joined by its type: the set's origins and elements
(``ccrdt.awset``), the counter rows (``ccrdt.counters``), the position
(``ccrdt.register``).  This module frames them and keeps the batch
accounting; it reads the state through its public members only.

``PartReader.check`` validates a part before ``apply`` changes anything: a
malformed part raises ValueError, one that does not fit the tables
CapacityError, one from a peer that holds more of this node's own origin
than it has OwnClaim; in each case the state is untouched.
"""
from array import array
from struct import pack_into

from micropython import const

from ccrdt import CapacityError, fnv, raw
from ccrdt.layout import PART_MAX, SLICES, STRIDE

_BATCH_NEW = const(32)


class OwnClaim(Exception):
    """A peer's part holds more of this node's own origin than it has."""


class PartWriter:
    """Cuts one slice of a state into parts; allocates nothing once built.
    Each type keeps its own cursor through the slice (start, write)
    and its `pending` flag: more of the slice is left to write."""

    def __init__(self, state):
        self.set, self.rows, self.pos = state.constraints, state.metrics, state.position
        self.set.prepare_writing()
        self.s = 0
        self.done = True
        self.buf = None  # room for a part, made at the first merge (a node never merges)

    def start(self, s):
        self.s = s
        self.set.start(s)
        self.rows.start(s)
        self.pos.start(s)
        self._settle()

    def _settle(self):
        self.done = not (self.set.pending or self.rows.pending or self.pos.pending)

    def next(self, buf, off, budget=PART_MAX):
        """Write the next part of the slice, at most budget bytes, at buf[off:].
        Returns its length; 0 if nothing more fits that budget (self.done
        tells whether anything is left)."""
        end = off + budget
        # Each section ends where the fixed bytes of those after it still fit:
        # the rows' count and the position flag.
        o = self.set.write(buf, off + 1, end - 2, budget >= PART_MAX)
        o = self.pos.write(buf, self.rows.write(buf, o, end - 1), end)
        if o - off == 5:  # the slice byte and each section's empty count: nothing fit
            return 0
        buf[off] = self.s
        self._settle()
        return o - off


class PartReader:
    """Validates and joins parts into one state.

    This module is bytecode, not native code: native code takes about three
    times the RAM of bytecode where a board loads it into its heap (an .mpy
    on the RV32 board), which left too little room for a full-capacity node
    beside it, and measured, the native parse and join were not the
    bottleneck of receiving (the join loop in ``ccrdt.gossip`` and the set's
    slice hash stay native; the counters' and the register's hashes, a few
    items a slice, are as fast as bytecode)."""

    def __init__(self, state):
        self.st = state
        self.set, self.rows, self.pos = state.constraints, state.metrics, state.position
        self.set.prepare_reading()
        # Nodes and constraints a batch of parts would add, each counted once.
        # A batch is one frame or one part: each new constraint takes at
        # least 8 of its bytes (length, id, dot count, a dot), so fewer than
        # _BATCH_NEW fit in a frame's 232 bytes of payload or in one part.
        self._unknown = raw.zeros32(state.max_nodes + 1)
        new = min(state.max_constraints, _BATCH_NEW) + 1
        self._new_hash = raw.zeros32(new)
        self._new_off = array("H", bytes(2 * new))
        self._nnew = 0
        self.nu = 0
        self.claim = False  # set by a from_peer check: see check()
        self.changed = False  # set by the types as apply() joins their sections

    def begin(self):
        """Start a batch of parts (all in one buffer) checked together
        against the tables' room."""
        self.nu = self._nnew = 0

    def note_unknown(self, tag):
        """Count a node the batch would add (one the node table does not
        hold: the types look it up as they parse), once per tag."""
        st = self.st
        u = self._unknown
        for i in range(self.nu):
            if u[i] == tag:
                return
        if st.node_table.count + self.nu >= st.max_nodes:
            raise CapacityError("node table full: %d nodes" % st.max_nodes)
        u[self.nu] = tag
        self.nu += 1

    def note_new(self, buf, off, n, h):
        """Count a constraint the batch would create, once per id."""
        st = self.st
        for i in range(self._nnew):
            o = self._new_off[i]
            if self._new_hash[i] == h and buf[o - 1] == n and raw.equal(buf, o, buf, off, n):
                return
        if len(self.set) + self._nnew >= st.max_constraints:
            raise CapacityError("constraint table full: %d constraints" % st.max_constraints)
        self._new_hash[self._nnew] = h
        self._new_off[self._nnew] = off
        self._nnew += 1

    def check(self, buf, off, n, from_peer=False):
        """Raise ValueError if the part is malformed, CapacityError if it and
        the parts checked before it in this batch cannot fit together; a
        part that does not fit leaves the batch as it was, so the parts
        after it can still be checked and joined without it.  from_peer: it
        came from another board, and OwnClaim is raised if it holds more of
        this node's own origin (a context, a row) than this node has: the
        origin's history was lost here or forged there (``ccrdt.gossip``
        answers it)."""
        if n < 5 or n > PART_MAX:
            raise ValueError("part length %d" % n)
        s = buf[off]
        if s >= SLICES:
            raise ValueError("part header")
        nu, nnew, end = self.nu, self._nnew, off + n
        own = self.st.tag if from_peer else -1  # whose claims set self.claim
        self.claim = False
        try:
            o = self.set.parse(buf, off + 1, end, s, self, own)
            o = self.rows.parse(buf, o, end, s, self, own)
            o = self.pos.parse(buf, o, end, s, self)
        except CapacityError:
            self.nu, self._nnew = nu, nnew
            raise
        if o != end:
            raise ValueError("part has %d trailing bytes" % (end - o))
        if self.claim:
            self.nu, self._nnew = nu, nnew
            raise OwnClaim("a part claims more of this node than it issued")

    def join(self, buf, off, n):
        """Check and apply one part on its own."""
        self.begin()
        self.check(buf, off, n)
        return self.apply(buf, off, n)

    def apply(self, buf, off, n):
        """Join the part buf[off:off+n], which check() has passed in this
        batch; True if the state changed."""
        s = buf[off]
        self.changed = False
        o = self.set.join_part(buf, off + 1, s, self)
        self.pos.join_part(buf, self.rows.join_part(buf, o, self), self)
        if self.changed:
            self.st.touch(s)
        return self.changed


def _check_room(st, other):
    """Raise CapacityError if a merge of other into st could need more node
    or constraint slots than st has (it returns nothing: a tuple would be
    an allocation)."""
    nodes, theirs = st.node_table, other.node_table
    new_nodes = 0
    for m in range(theirs.count):
        if nodes.find(theirs.tags[m]) < 0:
            new_nodes += 1
    new_el = st.constraints.missing(other.constraints)
    if nodes.count + new_nodes > st.max_nodes:
        raise CapacityError("node table full: merge needs %d more of %d"
                            % (new_nodes, st.max_nodes))
    if len(st.constraints) + new_el > st.max_constraints:
        raise CapacityError("constraint table full: merge needs %d more of %d"
                            % (new_el, st.max_constraints))


def merge_into(st, other):
    """Join every part of other into st; all or nothing on capacity."""
    _check_room(st, other)
    w, r = other.part_writer(), st.part_reader()
    if w.buf is None:
        w.buf = bytearray(PART_MAX)
    buf = w.buf
    changed = False
    for s in range(SLICES):
        w.start(s)
        while not w.done:
            if r.join(buf, 0, w.next(buf, 0)):
                changed = True
    return changed


# Snapshot: b"CCS", u8 version, u8 max_nodes, u8 max_constraints,
# [version 2: u32 incarnation], [version 3: u16 epoch, u8 owner length,
# owner], u8 names, names (u32 tag, u8 len, bytes), u16 parts, parts (u8
# len, part), u32 FNV-1a 32 of everything before it.  Versions 1 (no
# incarnation: 0) and 2 (epoch 0, no owner) are still read
# (``ccrdt.restore``: code a board runs at boot only).
SNAPSHOT_MAGIC = b"CCS"
# 2: the incarnation; 3: the epoch and the owner (``ccrdt.store``)
SNAPSHOT_VERSION = const(3)
OWNER_MAX = const(32)


def write_snapshot(st, emit):
    """Hand the snapshot of st to emit(buf, n), piece by piece (header,
    names, each part with its length byte, the checksum last), so that a
    board writes it to flash without ever holding it whole: a full state's
    snapshot is about 10 KB, too big a block to count on in a fragmented
    110 KB heap.  Allocates a few small buffers, no more."""
    w = st.part_writer()
    piece = bytearray(PART_MAX + 1)
    count = 0
    for s in range(SLICES):
        w.start(s)
        while not w.done:
            w.next(piece, 1)
            count += 1
    nodes = st.node_table
    names = [i for i in range(nodes.count) if nodes.has_name(i)]
    sum_ = array("I", [0])
    fnv.reset(sum_, 0)

    def out(buf, n):
        fnv.update(sum_, 0, buf, 0, n)
        emit(buf, n)
    piece[0:3] = SNAPSHOT_MAGIC
    owner = st.owner
    pack_into("<BBBIHB", piece, 3, SNAPSHOT_VERSION, st.max_nodes, st.max_constraints,
              st.incarnation, st.epoch, len(owner))
    raw.copy(piece, 13, owner, 0, len(owner))
    piece[13 + len(owner)] = len(names)
    out(piece, 14 + len(owner))
    for i in names:
        n = nodes.names[i * STRIDE]
        pack_into("<I", piece, 0, nodes.tags[i])
        raw.copy(piece, 4, nodes.names, i * STRIDE, 1 + n)
        out(piece, 5 + n)
    pack_into("<H", piece, 0, count)
    out(piece, 2)
    for s in range(SLICES):
        w.start(s)
        while not w.done:
            n = w.next(piece, 1)
            piece[0] = n
            out(piece, 1 + n)
    pack_into("<I", piece, 0, sum_[0])
    emit(piece, 4)


def encode_snapshot(st):
    """The snapshot bytes of st, in one buffer of the exact size (measured
    by a first pass): growing it piece by piece would need several times
    its size at once."""
    size = [0]

    def measure(buf, n):
        size[0] += n
    write_snapshot(st, measure)
    out = bytearray(size[0])
    at = [0]

    def put(buf, n):
        raw.copy(out, at[0], buf, 0, n)
        at[0] += n
    write_snapshot(st, put)
    return out

"""Delta parts: the one binary form of state, used by merge, the wire and snapshots.

A *part* is the projection of one slice of a state onto a subset of origin
nodes, plus some metric rows and (slice 0) the position register.  Each part
is itself a valid state (the join-decomposition of delta-state CRDTs,
Almeida, Shoker & Baquero), so a receiver joins it on its own: nothing needs
reassembly, and a lost part only delays its own piece.  A slice is cut into
as many parts of at most ``PART_MAX`` bytes as it needs.

Part layout (little-endian)::

    u8 slice
    u8 origins        then per origin: u32 tag, u32 context counter
    u8 elements       then per element: u8 len, id, u8 dots,
                                        per dot: u8 origin index, u32 counter
    u8 rows           then per row: u32 tag, u64 satisfied, u64 violations,
                                    u32 version
    u8 has_position   then if 1: i32 a, i32 b, u32 clock, u32 writer tag

Join of a part into a state, per (element, origin) cell, with local dot dA,
part dot dB, local context cA and part context cS (ORSWOT merge):
  * equal dots stay;
  * dA stays only if the part has not seen it (dA > cS): otherwise the part's
    side removed it;
  * dB is taken only if this side has not seen it (dB > cA).
Elements of the slice that the part does not list count as dB = 0.

``PartReader.check`` validates a part before ``apply`` changes anything: a
malformed part raises ValueError, one that does not fit the tables
CapacityError, one from a peer that holds more of this node's own origin
than it has OwnClaim; in each case the state is untouched.
"""
from array import array
from struct import pack_into
from micropython import const

from ccrdt import CapacityError, fnv, raw
from ccrdt.layout import (COUNTER_LIMIT, FREE as _FREE, ID_MAX, SLICE_ORIGIN_MAX, SLICES,
                          STRIDE as _STRIDE, TAG_LIMIT as _TAG_LIMIT)

PART_MAX = const(224)
_PART_ORIGINS = const(32)  # more origins than this cannot fit PART_MAX anyway
_PART_ELEMENTS = const(32)
_ROW = const(24)
_POS = const(16)


class OwnClaim(Exception):
    """A peer's part holds more of this node's own origin than it has."""


class PartWriter:
    """Cuts one slice of a state into parts; allocates nothing once built."""

    def __init__(self, state):
        self.st = state
        self._inc = bytearray(state.max_constraints)
        self._orig = bytearray(_PART_ORIGINS)
        self.s = self.oc = self.rc = 0
        self.pos_pending = False
        self.done = True

    def start(self, s):
        st = self.st
        self.s = s
        self.oc = self.rc = 0
        self.pos_pending = s == 0 and st.position.is_set
        self._settle()

    def _settle(self):
        """Skip origins and rows with nothing to send; set self.done."""
        st, s, nn = self.st, self.s, self.st.max_nodes
        while self.oc < st._nn and not st._ctx[s * nn + self.oc]:
            self.oc += 1
        while self.rc < st._nn and not st._row_in(self.rc, s):
            self.rc += 1
        self.done = self.oc >= st._nn and self.rc >= st._nn and not self.pos_pending

    def _origin_cost(self, n, mark):
        st, s, nn = self.st, self.s, self.st.max_nodes
        es, dots = st._eslice, st._dots
        ids, inc = st._eid, self._inc
        add = 8
        for e in range(st.max_constraints):
            if es[e] == s and dots[e * nn + n]:
                add += 5 if inc[e] else 7 + ids[e * _STRIDE]
                if mark:
                    inc[e] = 1
        return add

    def next(self, buf, off, budget=PART_MAX):
        """Write the next part of the slice, at most budget bytes, at buf[off:].
        Returns its length; 0 if nothing more fits that budget (self.done
        tells whether anything is left)."""
        st, s, nn = self.st, self.s, self.st.max_nodes
        ctx, dots = st._ctx, st._dots
        tags, inc = st._ntag, self._inc
        orig = self._orig
        raw.fill(inc, 0, st.max_constraints, 0)
        size = 5
        k = 0
        n = self.oc
        while n < st._nn and k < _PART_ORIGINS:
            if ctx[s * nn + n]:
                add = self._origin_cost(n, False)
                if size + add > budget:
                    if k == 0 and budget >= PART_MAX:
                        # SLICE_ORIGIN_MAX and ID_MAX make this impossible
                        raise CapacityError("slice %d of one origin exceeds a part" % s)
                    break
                self._origin_cost(n, True)
                orig[k] = n
                k += 1
                size += add
            n += 1
        self.oc = n
        r = self.rc
        nr = 0
        while r < st._nn:
            if st._row_in(r, s):
                if size + _ROW > budget:
                    break
                size += _ROW
                nr += 1
            r += 1
        pos = self.pos_pending and size + _POS <= budget
        if k == 0 and nr == 0 and not pos:
            return 0
        o = off
        buf[o] = s
        buf[o + 1] = k
        o += 2
        for j in range(k):
            n = orig[j]
            pack_into("<II", buf, o, tags[n], ctx[s * nn + n])
            o += 8
        count_at = o
        o += 1
        ne = 0
        ids = st._eid
        for e in range(st.max_constraints):
            if inc[e]:
                L = ids[e * _STRIDE]
                buf[o] = L
                raw.copy(buf, o + 1, ids, e * _STRIDE + 1, L)
                o += 1 + L
                nd_at = o
                o += 1
                nd = 0
                for j in range(k):
                    d = dots[e * nn + orig[j]]
                    if d:
                        buf[o] = j
                        pack_into("<I", buf, o + 1, d)
                        o += 5
                        nd += 1
                buf[nd_at] = nd
                ne += 1
        buf[count_at] = ne
        buf[o] = nr
        o += 1
        for i in range(self.rc, r):
            if st._row_in(i, s):
                # counter words are copied as bytes: read into Python they
                # could be heap ints on a 32-bit port
                pack_into("<I", buf, o, tags[i])
                raw.copy(buf, o + 4, st._sat, 8 * i, 8)
                raw.copy(buf, o + 12, st._vio, 8 * i, 8)
                pack_into("<I", buf, o + 20, st._ver[i])
                o += _ROW
        self.rc = r
        buf[o] = 1 if pos else 0
        o += 1
        if pos:
            raw.copy(buf, o, st.position.packed, 0, _POS)
            o += _POS
            self.pos_pending = False
        self._settle()
        return o - off


class PartReader:
    """Validates and joins parts into one state, with preallocated scratch.

    This module is bytecode, not native code: native code takes about three
    times the RAM of bytecode where a board loads it into its heap (an .mpy
    on the RV32 board), which left too little room for a full-capacity node
    beside it, and measured, the native parse and join were not the
    bottleneck of receiving (the join loop in ``ccrdt.gossip`` and the slice
    hash in ``ccrdt.state`` stay native)."""

    def __init__(self, state):
        self.st = state
        self._omap = array("h", bytes(2 * _PART_ORIGINS))
        self._otag = raw.zeros32(_PART_ORIGINS)
        self._octx = raw.zeros32(_PART_ORIGINS)
        self._db = raw.zeros32(_PART_ORIGINS)
        self._per = bytearray(_PART_ORIGINS)
        self._seen = bytearray(_PART_ORIGINS)
        self._eoff = array("H", bytes(2 * _PART_ELEMENTS))
        self._ehash = raw.zeros32(_PART_ELEMENTS)
        # Nodes and constraints a batch of parts would add, each counted once.
        self._unknown = raw.zeros32(state.max_nodes + 1)
        self._new_hash = raw.zeros32(state.max_constraints + 1)
        self._new_off = array("H", bytes(2 * (state.max_constraints + 1)))
        self._nnew = 0
        self._touched = bytearray(state.max_constraints)
        self._hst = array("I", [0])
        self.nu = 0
        self.claim = False  # set by a from_peer check: see check()

    def begin(self):
        """Start a batch of parts (all in one buffer) checked together
        against the tables' room."""
        self.nu = self._nnew = 0

    def _note_unknown(self, tag):
        st = self.st
        if st._find_node(tag) >= 0:
            return
        u = self._unknown
        for i in range(self.nu):
            if u[i] == tag:
                return
        if st._nn + self.nu >= st.max_nodes:
            raise CapacityError("node table full: %d nodes" % st.max_nodes)
        u[self.nu] = tag
        self.nu += 1

    def _note_new(self, buf, off, n, h):
        """Count a constraint the batch would create, once per id."""
        st = self.st
        for i in range(self._nnew):
            o = self._new_off[i]
            if self._new_hash[i] == h and buf[o - 1] == n and raw.equal(buf, o, buf, off, n):
                return
        if st._live + self._nnew >= st.max_constraints:
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
        nu, nnew = self.nu, self._nnew
        self.claim = False
        try:
            self._parse(buf, off, n, True, from_peer)
        except CapacityError:
            self.nu, self._nnew = nu, nnew
            raise
        if self.claim:
            self.nu, self._nnew = nu, nnew
            raise OwnClaim("a part claims more of this node than it issued")

    def _parse(self, buf, off, n, count=False, from_peer=False):
        """Validate the part and fill the scratch tables; with count, note
        the nodes and constraints it would add to the batch; with from_peer,
        set self.claim if it claims more of this node than it has."""
        st = self.st
        nn, ctx = st.max_nodes, st._ctx
        end = off + n
        if n < 5 or n > PART_MAX:
            raise ValueError("part length %d" % n)
        s = buf[off]
        k = buf[off + 1]
        o = off + 2
        if s >= SLICES or k > _PART_ORIGINS or o + 8 * k + 3 > end:
            raise ValueError("part header")
        otag, octx = self._otag, self._octx
        omap, per = self._omap, self._per
        for j in range(k):
            tag = raw.below(buf, o, _TAG_LIMIT)
            c = raw.below(buf, o + 4, COUNTER_LIMIT)
            o += 8
            if tag < 0 or c <= 0:
                raise ValueError("origin entry")
            for i in range(j):
                if otag[i] == tag:
                    raise ValueError("origin listed twice")
            otag[j] = tag
            octx[j] = c
            omap[j] = st._find_node(tag)
            per[j] = 0
            if from_peer and tag == st.tag and (omap[j] < 0 or c > ctx[s * nn + omap[j]]):
                self.claim = True
            if count:
                self._note_unknown(tag)
        ne = buf[o]
        o += 1
        if ne > _PART_ELEMENTS:
            raise ValueError("element count")
        st_h, eoff = self._hst, self._eoff
        ehash, seen = self._ehash, self._seen
        for i in range(ne):
            if o >= end:
                raise ValueError("truncated element")
            L = buf[o]
            o += 1
            if L == 0 or L > ID_MAX or o + L + 1 > end:
                raise ValueError("element id length")
            if not raw.utf8(buf, o, L):
                raise ValueError("element id is not UTF-8")
            fnv.reset(st_h, 0)
            fnv.update(st_h, 0, buf, o, L)
            h = fnv.fold30(st_h, 0)
            if h % SLICES != s:
                raise ValueError("element in the wrong slice")
            for q in range(i):
                if ehash[q] == h and buf[eoff[q] - 1] == L and raw.equal(buf, eoff[q], buf, o, L):
                    raise ValueError("element listed twice")
            eoff[i] = o
            ehash[i] = h
            idoff = o
            o += L
            nd = buf[o]
            o += 1
            if nd == 0 or nd > k or o + 5 * nd > end:
                raise ValueError("dot count")
            for j in range(k):
                seen[j] = 0
            survives = False
            for _ in range(nd):
                j = buf[o]
                if j >= k or seen[j]:
                    raise ValueError("dot origin index")
                d = raw.below(buf, o + 1, COUNTER_LIMIT)
                o += 5
                if d <= 0 or d > octx[j]:
                    raise ValueError("dot outside its context")
                seen[j] = 1
                per[j] += 1
                if per[j] > SLICE_ORIGIN_MAX:
                    raise ValueError("too many constraints of one origin in a slice")
                slot = omap[j]
                if slot < 0 or d > ctx[s * nn + slot]:
                    survives = True
            if count and survives and st._find_id(buf, idoff, L, h) < 0:
                self._note_new(buf, idoff, L, h)
        if o >= end:
            raise ValueError("truncated rows")
        nr = buf[o]
        o += 1
        if o + _ROW * nr + 1 > end:
            raise ValueError("row count")
        for _ in range(nr):
            tag = raw.below(buf, o, _TAG_LIMIT)
            if tag < 0 or tag % SLICES != s:
                raise ValueError("row tag")
            # the top quarter of u64, and of the version's range, is never valid
            v = raw.below(buf, o + 20, COUNTER_LIMIT)
            if buf[o + 11] >= 0xC0 or buf[o + 19] >= 0xC0 or v < 0:
                raise ValueError("row counter out of range")
            if from_peer and tag == st.tag:
                me = st._find_node(tag)
                if (me < 0 or v > st._ver[me] or raw.above64(st._sat, me, buf, o + 4)
                        or raw.above64(st._vio, me, buf, o + 12)):
                    self.claim = True
            if count:
                self._note_unknown(tag)
            o += _ROW
        flag = buf[o]
        o += 1
        if flag > 1 or (flag and s != 0):
            raise ValueError("position flag")
        if flag:
            if o + _POS > end:
                raise ValueError("truncated position")
            if raw.below(buf, o + 8, COUNTER_LIMIT) < 0:
                raise ValueError("position clock out of range")
            tag = raw.below(buf, o + 12, _TAG_LIMIT)
            if tag < 0:
                raise ValueError("position writer tag")
            if count:
                self._note_unknown(tag)
            o += _POS
        if o != end:
            raise ValueError("part has %d trailing bytes" % (end - o))

    def join(self, buf, off, n):
        """Check and apply one part on its own."""
        self.begin()
        self.check(buf, off, n)
        return self.apply(buf, off, n)

    def apply(self, buf, off, n):
        """Join the part buf[off:off+n], which check() has passed in this
        batch; True if the state changed."""
        self._parse(buf, off, n)
        st = self.st
        nn, ne_cap = st.max_nodes, st.max_constraints
        ctx, dots, es = st._ctx, st._dots, st._eslice
        omap, octx = self._omap, self._octx
        db, touched = self._db, self._touched
        s = buf[off]
        k = buf[off + 1]
        changed = False
        for j in range(k):
            if omap[j] < 0:
                omap[j] = st._add_node(self._otag[j])
        if k:
            raw.fill(touched, 0, ne_cap, 0)
        o = off + 2 + 8 * k
        ne = buf[o]
        o += 1
        for i in range(ne):
            L = buf[o]
            idoff = o + 1
            o = idoff + L
            nd = buf[o]
            o += 1
            for j in range(k):
                db[j] = 0
            for _ in range(nd):
                db[buf[o]] = raw.below(buf, o + 1, COUNTER_LIMIT)
                o += 5
            h = self._ehash[i]
            e = st._find_id(buf, idoff, L, h)
            if e >= 0:
                touched[e] = 1
                for j in range(k):
                    slot = omap[j]
                    c = e * nn + slot
                    dA, dB = dots[c], db[j]
                    if dA != dB:
                        keep = dA if dA > octx[j] else 0
                        if dB > ctx[s * nn + slot] and dB > keep:
                            keep = dB
                        if keep != dA:
                            dots[c] = keep
                            changed = True
            else:
                for j in range(k):
                    if db[j] > ctx[s * nn + omap[j]]:
                        if e < 0:
                            e = st._new_element(buf, idoff, L, h)
                            for c in range(e * nn, e * nn + nn):
                                dots[c] = 0
                            touched[e] = 1
                            changed = True
                        dots[e * nn + omap[j]] = db[j]
        e = raw.find8(es, ne_cap, s, 0) if k else -1  # without origins nothing is removed
        while e >= 0:
            if not touched[e]:
                for j in range(k):
                    c = e * nn + omap[j]
                    if dots[c] and dots[c] <= octx[j]:
                        dots[c] = 0
                        changed = True
            if not raw.any32(dots, e * nn, nn):
                st._free_element(e)
                changed = True
            e = raw.find8(es, ne_cap, s, e + 1)
        for j in range(k):
            c = s * nn + omap[j]
            if octx[j] > ctx[c]:
                ctx[c] = octx[j]
                changed = True
        nr = buf[o]
        o += 1
        for _ in range(nr):
            tag = raw.below(buf, o, _TAG_LIMIT)
            slot = st._find_node(tag)
            if slot < 0:
                slot = st._add_node(tag)
            if raw.join64(st._sat, slot, buf, o + 4):
                changed = True
            if raw.join64(st._vio, slot, buf, o + 12):
                changed = True
            v = raw.below(buf, o + 20, COUNTER_LIMIT)
            if v > st._ver[slot]:
                st._ver[slot] = v
                changed = True
            o += _ROW
        if buf[o]:
            o += 1
            tag = raw.below(buf, o + 12, _TAG_LIMIT)
            if st._find_node(tag) < 0:
                st._add_node(tag)
            p = st.position
            if not p.holds(buf, o) and p.join(raw.i32(buf, o), raw.i32(buf, o + 4),
                                               raw.below(buf, o + 8, COUNTER_LIMIT), tag):
                changed = True
        if changed:
            st._touch(s)
        return changed


def reader(state):
    r = getattr(state, "_reader", None)
    if r is None:
        r = state._reader = PartReader(state)
    return r


def writer(state):
    w = getattr(state, "_writer", None)
    if w is None:
        w = state._writer = PartWriter(state)
        state._partbuf = bytearray(PART_MAX)
    return w


def _check_room(st, other):
    """Raise CapacityError if a merge of other into st could need more node
    or constraint slots than st has (it returns nothing: a tuple would be
    an allocation)."""
    nn, onn = st.max_nodes, other.max_nodes
    new_nodes = 0
    for m in range(other._nn):
        if st._find_node(other._ntag[m]) < 0:
            new_nodes += 1
    new_el = 0
    ids = other._eid
    for e in range(other.max_constraints):
        s = other._eslice[e]
        if s == _FREE:
            continue
        o = e * _STRIDE
        if st._find_id(ids, o + 1, ids[o], other._ehash[e]) >= 0:
            continue
        for m in range(other._nn):
            d = other._dots[e * onn + m]
            slot = st._find_node(other._ntag[m])
            if d and (slot < 0 or d > st._ctx[s * nn + slot]):
                new_el += 1
                break
    if st._nn + new_nodes > st.max_nodes:
        raise CapacityError("node table full: merge needs %d more of %d" % (new_nodes, st.max_nodes))
    if st._live + new_el > st.max_constraints:
        raise CapacityError("constraint table full: merge needs %d more of %d"
                            % (new_el, st.max_constraints))


def merge_into(st, other):
    """Join every part of other into st; all or nothing on capacity."""
    _check_room(st, other)
    w, r = writer(other), reader(st)
    buf = other._partbuf
    changed = False
    for s in range(SLICES):
        w.start(s)
        while not w.done:
            if r.join(buf, 0, w.next(buf, 0)):
                changed = True
    return changed


# Snapshot: b"CCS", u8 version, u8 max_nodes, u8 max_constraints,
# [version 2: u32 incarnation], u8 names, names (u32 tag, u8 len, bytes),
# u16 parts, parts (u8 len, part), u32 FNV-1a 32 of everything before it.
# Version 1 (no incarnation: 0) is still read.
_MAGIC = b"CCS"
_VERSION = const(2)


class SnapshotVersionError(ValueError):
    """A well-formed snapshot of a version this firmware does not read: not
    corrupt, only newer (or older) than the code."""


def write_snapshot(st, emit):
    """Hand the snapshot of st to emit(buf, n), piece by piece (header,
    names, each part with its length byte, the checksum last), so that a
    board writes it to flash without ever holding it whole: a full state's
    snapshot is about 10 KB, too big a block to count on in a fragmented
    110 KB heap.  Allocates a few small buffers, no more."""
    w = writer(st)
    piece = bytearray(PART_MAX + 1)
    count = 0
    for s in range(SLICES):
        w.start(s)
        while not w.done:
            w.next(piece, 1)
            count += 1
    names = [i for i in range(st._nn) if st._nname[i * _STRIDE]]
    sum_ = array("I", [0])
    fnv.reset(sum_, 0)

    def out(buf, n):
        fnv.update(sum_, 0, buf, 0, n)
        emit(buf, n)
    piece[0:3] = _MAGIC
    pack_into("<BBBIB", piece, 3, _VERSION, st.max_nodes, st.max_constraints, st.incarnation,
              len(names))
    out(piece, 11)
    for i in names:
        n = st._nname[i * _STRIDE]
        pack_into("<I", piece, 0, st._ntag[i])
        raw.copy(piece, 4, st._nname, i * _STRIDE, 1 + n)
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


def decode_snapshot(data, new_state):
    """The state a snapshot holds, built by new_state(max_nodes,
    max_constraints, incarnation); ValueError names what is wrong."""
    if len(data) < 13 or bytes(data[:3]) != _MAGIC:
        raise ValueError("not a ccrdt snapshot (bad magic or too short)")
    body = memoryview(data)[:-4]
    if fnv.fnv1a32(body) != raw.u32(data, len(data) - 4):
        raise ValueError("snapshot checksum mismatch (corrupt or truncated)")
    version = data[3]
    if not 1 <= version <= _VERSION:
        raise SnapshotVersionError("snapshot version %d: this firmware reads 1..%d"
                                   % (version, _VERSION))
    o = 6
    incarnation = 0
    if version >= 2:
        incarnation = raw.u32(data, o)
        o += 4
    st = new_state(data[4], data[5], incarnation)
    count = data[o]
    o += 1
    names = []
    for _ in range(count):
        if o + 5 > len(body) or o + 5 + data[o + 4] > len(body):
            raise ValueError("snapshot names truncated")
        names.append((o, data[o + 4]))
        o += 5 + data[o + 4]
    if o + 2 > len(body):
        raise ValueError("snapshot parts truncated")
    count = raw.u16(data, o)
    o += 2
    r = reader(st)
    for _ in range(count):
        n = data[o] if o < len(body) else 0
        if n == 0 or o + 1 + n > len(body):
            raise ValueError("snapshot part truncated")
        r.join(data, o + 1, n)
        o += 1 + n
    if o != len(body):
        raise ValueError("snapshot has trailing bytes")
    for no, n in names:
        st.remember_name(raw.u32(data, no), data, no + 5, n)
    return st

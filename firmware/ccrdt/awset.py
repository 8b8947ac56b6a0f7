"""The add-wins observed-remove set of constraint ids, without tombstones
(ORSWOT, Bieniusa et al. 2012, the design of riak_dt_orswot).

Every add creates a dot (origin node, counter); an element lives while it
has a live dot; a causal context records the dots seen, so a dot that is in
the other side's context but not in its element row was removed there.  The
set is cut into ``SLICES`` slices by the hash of the id, each with its own
context: a slice projected onto any subset of origins is itself a valid
set, which is what lets a part of a frame be a self-contained delta.
Memory: one counter per (constraint, node) and per (slice, node).

Part section: u8 origins, then per origin: u32 tag, u32 context counter;
u8 elements, then per element: u8 len, id, u8 dots, per dot: u8 origin
index, u32 counter.  Join of a section, per (element, origin) cell, with
local dot dA, part dot dB, local context cA and part context cS:
  * equal dots stay;
  * dA stays only if the part has not seen it (dA > cS): otherwise the
    part's side removed it;
  * dB is taken only if this side has not seen it (dB > cA).
Elements of the slice that the part does not list count as dB = 0.
"""
from array import array
from struct import pack_into
import micropython
from micropython import const

from ccrdt import CapacityError, fnv, raw
from ccrdt.layout import (COUNTER_LIMIT, FREE, ID_MAX, SLICE_ORIGIN_MAX, SLICES,
                          STRIDE, TAG_LIMIT)
from ccrdt.nodes import id_bytes

_PART_ORIGINS = const(32)  # more origins than this cannot fit PART_MAX anyway
_PART_ELEMENTS = const(32)
# Item kinds of the state hash.
_H_CTX = const(0x43)
_H_DOT = const(0x44)
_UNSET = array("B")  # part scratch not made yet


class AWSet:
    def __init__(self, nodes, capacity):
        self.nodes = nodes
        self.capacity = capacity
        nn = nodes.capacity
        # Element table: id bytes, id hash, slice (or FREE), dot row.
        self._ids = bytearray(capacity * STRIDE)
        self._hashes = raw.zeros32(capacity)
        self._slices = bytearray(b"\xff" * capacity)
        self._live = 0
        self._dots = raw.zeros32(capacity * nn)  # [element * nn + node]
        self._ctx = raw.zeros32(SLICES * nn)  # [slice * nn + node]
        self._s = self._oc = 0  # part writer: slice, next origin
        self.pending = False  # the part writer's slice has more to write
        # Part scratch, made with the first part written or read (most
        # states are never read into).  _inc marks the elements a part being
        # written holds, and those a part being joined listed: each use is
        # over within one call.
        self._inc = self._orig = _UNSET
        self._omap = self._octx = self._db = self._ehash = self._eoff = _UNSET
        self._per = self._seen = _UNSET

    # ---- reading ---------------------------------------------------------
    def contains(self, cid):
        return self.find(id_bytes(cid, "constraint id")) >= 0

    __contains__ = contains

    def __len__(self):
        return self._live

    def active_constraints(self):
        """The live constraint ids, sorted."""
        out = self.owned_by(-1)
        out.sort()
        return out

    def owned_by(self, slot):
        """The live constraint ids, in slot order, that hold a dot of the
        node in slot (every live one for slot -1)."""
        nn, out = self.nodes.capacity, []
        for e in range(self.capacity):
            if self._slices[e] != FREE and (slot < 0 or self._dots[e * nn + slot]):
                out.append(self._id_str(e))
        return out

    def context(self, s, slot):
        """The context counter of slice s for the node in slot."""
        return self._ctx[s * self.nodes.capacity + slot]

    def dots(self):
        """(id, node slot, dot) of every live dot, one at a time (a list of a
        full table's would crowd a small board's heap)."""
        nn = self.nodes.capacity
        for e in range(self.capacity):
            if self._slices[e] != FREE:
                cid = self._id_str(e)
                for n in range(self.nodes.count):
                    if self._dots[e * nn + n]:
                        yield cid, n, self._dots[e * nn + n]

    def find(self, buf, off=0, n=-1, h=-1):
        """Slot of the element whose id is buf[off:off+n] (hash h), or -1."""
        if n < 0:
            n = len(buf)
        if h < 0:
            h = fnv.hash30(buf, off, n)
        ids, eh = self._ids, self._hashes
        e = raw.find32(eh, self.capacity, h, 0)
        while e >= 0:
            o = e * STRIDE
            if self._slices[e] != FREE and ids[o] == n and raw.equal(ids, o + 1, buf, off, n):
                return e
            e = raw.find32(eh, self.capacity, h, e + 1)
        return -1

    def _id_str(self, e):
        o = e * STRIDE
        return bytes(self._ids[o + 1:o + 1 + self._ids[o]]).decode()

    def _new_element(self, buf, off, n, h):
        es = self._slices
        for e in range(self.capacity):
            if es[e] == FREE:
                o = e * STRIDE
                self._ids[o] = n
                raw.copy(self._ids, o + 1, buf, off, n)
                self._hashes[e] = h
                es[e] = h % SLICES
                self._live += 1
                return e
        raise CapacityError("constraint table full: %d constraints" % self.capacity)

    def _origin_count(self, s, node):
        """Live elements of slice s that hold a dot of node."""
        nn, es, dots = self.nodes.capacity, self._slices, self._dots
        c = 0
        for e in range(self.capacity):
            if es[e] == s and dots[e * nn + node]:
                c += 1
        return c

    def missing(self, other):
        """Elements of other that a join of other here would create."""
        nn, onn = self.nodes.capacity, other.nodes.capacity
        ids, slices, dots = other._ids, other._slices, other._dots
        hashes, tags = other._hashes, other.nodes.tags  # (unpacking 4 would build a tuple)
        new = 0
        for e in range(other.capacity):
            s = slices[e]
            if s == FREE or self.find(ids, e * STRIDE + 1, ids[e * STRIDE], hashes[e]) >= 0:
                continue
            for m in range(other.nodes.count):
                d = dots[e * onn + m]
                slot = self.nodes.find(tags[m])
                if d and (slot < 0 or d > self._ctx[s * nn + slot]):
                    new += 1
                    break
        return new

    # ---- local operations (me: this node's slot) -------------------------
    def add(self, b, h, e, me):
        """Add the id b (hash h, slot e or -1) with a new dot of me; raises
        before any change.  Returns its slice."""
        s = h % SLICES
        nn = self.nodes.capacity
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
        return s

    def remove(self, e):
        """Remove element e as observed here.  Returns its slice."""
        base, nn = e * self.nodes.capacity, self.nodes.capacity
        for n in range(nn):
            self._dots[base + n] = 0
        s = self._slices[e]
        self._slices[e] = FREE
        self._live -= 1
        return s

    # ---- state hash and equality -----------------------------------------
    @micropython.native
    def hash_into(self, s, acc, st):
        """Add the item hashes of slice s's context and dots to acc[s]."""
        nn, tags, count = self.nodes.capacity, self.nodes.tags, self.nodes.count
        for n in range(count):
            c = self._ctx[s * nn + n]
            if c:
                fnv.reset(st, 0)
                fnv.update_u32(st, 0, _H_CTX | (s << 8))
                fnv.update_u32(st, 0, tags[n])
                fnv.update_u32(st, 0, c)
                fnv.mix_into(acc, s, st, 0)
        ids, es = self._ids, self._slices
        for e in range(self.capacity):
            if es[e] == s:
                o = e * STRIDE
                for n in range(count):
                    d = self._dots[e * nn + n]
                    if d:
                        fnv.reset(st, 0)
                        fnv.update_u32(st, 0, _H_DOT | (ids[o] << 8))
                        fnv.update(st, 0, ids, o + 1, ids[o])
                        fnv.update_u32(st, 0, tags[n])
                        fnv.update_u32(st, 0, d)
                        fnv.mix_into(acc, s, st, 0)

    def equal(self, other):
        """The same contexts and live dots as other, compared in place (node
        slots matched by tag, elements by id): sorted lists of a full
        table's would be tens of KB of tuples, more than a small board has."""
        return self._within(other) and other._within(self)

    def _within(self, other):
        """Every context entry and live dot of self is in other, equal."""
        na, nb = self.nodes, other.nodes
        for n in range(na.count):
            m = nb.find(na.tags[n])
            for s in range(SLICES):
                x = self._ctx[s * na.capacity + n]
                if x and (m < 0 or other._ctx[s * nb.capacity + m] != x):
                    return False
        for e in range(self.capacity):
            if self._slices[e] == FREE:
                continue
            o = e * STRIDE
            f = other.find(self._ids, o + 1, self._ids[o], self._hashes[e])
            for n in range(na.count):
                d = self._dots[e * na.capacity + n]
                if d:
                    m = nb.find(na.tags[n])
                    if f < 0 or m < 0 or other._dots[f * nb.capacity + m] != d:
                        return False
        return True

    # ---- part section --------------------------------------------------------
    def prepare_writing(self):
        """Make the scratch that writing parts needs (the part writer calls
        this once, not each part)."""
        if self._inc is _UNSET:
            self._inc = bytearray(self.capacity)
            self._orig = bytearray(_PART_ORIGINS)

    def prepare_reading(self):
        """Make the scratch that reading parts needs (the part reader calls
        this once)."""
        self.prepare_writing()
        if self._omap is _UNSET:
            self._omap = array("h", bytes(2 * _PART_ORIGINS))
            self._octx = raw.zeros32(_PART_ORIGINS)
            self._db = raw.zeros32(_PART_ORIGINS)
            self._per = bytearray(_PART_ORIGINS)
            self._seen = bytearray(_PART_ORIGINS)
            self._eoff = array("H", bytes(2 * _PART_ELEMENTS))
            self._ehash = raw.zeros32(_PART_ELEMENTS)

    def start(self, s):
        self._s = s
        self._oc = 0
        self._settle()

    def _settle(self):
        nn = self.nodes.capacity
        while self._oc < self.nodes.count and not self._ctx[self._s * nn + self._oc]:
            self._oc += 1
        self.pending = self._oc < self.nodes.count

    def _origin_cost(self, n, mark):
        s, nn = self._s, self.nodes.capacity
        es, dots = self._slices, self._dots
        ids, inc = self._ids, self._inc
        add = 8
        e = raw.find8(es, self.capacity, s, 0)  # (viper: a slice holds few of the slots)
        while e >= 0:
            if dots[e * nn + n]:
                add += 5 if inc[e] else 7 + ids[e * STRIDE]
                if mark:
                    inc[e] = 1
            e = raw.find8(es, self.capacity, s, e + 1)
        return add

    def write(self, buf, o, limit, whole):
        """Write at buf[o:] the section of the next origins of the slice (with
        their elements) that end before limit; returns its end.  whole: the
        part has all of PART_MAX, so an origin that does not fit is an error."""
        s, nn = self._s, self.nodes.capacity
        ctx, dots, tags = self._ctx, self._dots, self.nodes.tags
        inc, orig, ids = self._inc, self._orig, self._ids
        raw.fill(inc, 0, self.capacity, 0)
        end = o + 2  # the origin and element counts
        k = 0
        n = self._oc
        while n < self.nodes.count and k < _PART_ORIGINS:
            if ctx[s * nn + n]:
                add = self._origin_cost(n, False)
                if end + add > limit:
                    if k == 0 and whole:
                        # SLICE_ORIGIN_MAX and ID_MAX make this impossible
                        raise CapacityError("slice %d of one origin exceeds a part" % s)
                    break
                self._origin_cost(n, True)
                orig[k] = n
                k += 1
                end += add
            n += 1
        self._oc = n
        buf[o] = k
        o += 1
        for j in range(k):
            n = orig[j]
            pack_into("<II", buf, o, tags[n], ctx[s * nn + n])
            o += 8
        count_at = o
        o += 1
        ne = 0
        e = raw.find8(inc, self.capacity, 1, 0)
        while e >= 0:
            L = ids[e * STRIDE]
            buf[o] = L
            raw.copy(buf, o + 1, ids, e * STRIDE + 1, L)
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
            e = raw.find8(inc, self.capacity, 1, e + 1)
        buf[count_at] = ne
        self._settle()
        return o

    def parse(self, buf, o, end, s, batch, own):
        """Validate the section at buf[o:end] of a part of slice s; returns
        its end.  batch (the part reader) notes the nodes and elements it
        would add, and its claim is set if a context of own (a tag, or -1)
        is ahead of this node's."""
        nn, ctx = self.nodes.capacity, self._ctx
        k = buf[o]
        o += 1
        if k > _PART_ORIGINS or o + 8 * k + 3 > end:
            raise ValueError("part header")
        octx, omap, per = self._octx, self._omap, self._per
        first = o
        for j in range(k):
            tag = raw.below(buf, o, TAG_LIMIT)
            c = raw.below(buf, o + 4, COUNTER_LIMIT)
            if tag < 0 or c <= 0:
                raise ValueError("origin entry")
            for i in range(j):
                if raw.equal(buf, first + 8 * i, buf, o, 4):
                    raise ValueError("origin listed twice")
            o += 8
            octx[j] = c
            omap[j] = self.nodes.find(tag)
            per[j] = 0
            if tag == own and (omap[j] < 0 or c > ctx[s * nn + omap[j]]):
                batch.claim = True
            if omap[j] < 0:
                batch.note_unknown(tag)
        ne = buf[o]
        o += 1
        if ne > _PART_ELEMENTS:
            raise ValueError("element count")
        eoff, ehash, seen = self._eoff, self._ehash, self._seen
        for i in range(ne):
            if o >= end:
                raise ValueError("truncated element")
            L = buf[o]
            o += 1
            if L == 0 or L > ID_MAX or o + L + 1 > end:
                raise ValueError("element id length")
            if not raw.utf8(buf, o, L):
                raise ValueError("element id is not UTF-8")
            h = fnv.hash30(buf, o, L)
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
            if survives and self.find(buf, idoff, L, h) < 0:
                batch.note_new(buf, idoff, L, h)
        return o

    def join_part(self, buf, o, s, reader):
        """Join the section at buf[o:] of a part of slice s that parse() has
        passed (perhaps before other parts joined: nothing of that parse is
        reused); returns the section's end and sets reader.changed if the
        set changed."""
        nn, ne_cap = self.nodes.capacity, self.capacity
        ctx, dots, es = self._ctx, self._dots, self._slices
        omap, octx = self._omap, self._octx
        db, touched = self._db, self._inc
        k = buf[o]
        o += 1
        changed = False
        for j in range(k):
            tag = raw.below(buf, o, TAG_LIMIT)
            octx[j] = raw.below(buf, o + 4, COUNTER_LIMIT)
            slot = self.nodes.find(tag)
            omap[j] = slot if slot >= 0 else self.nodes.add(tag)
            o += 8
        if k:
            raw.fill(touched, 0, ne_cap, 0)
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
            h = fnv.hash30(buf, idoff, L)
            e = self.find(buf, idoff, L, h)
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
                            e = self._new_element(buf, idoff, L, h)
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
                es[e] = FREE
                self._live -= 1
                changed = True
            e = raw.find8(es, ne_cap, s, e + 1)
        for j in range(k):
            c = s * nn + omap[j]
            if octx[j] > ctx[c]:
                ctx[c] = octx[j]
                changed = True
        if changed:
            reader.changed = True
        return o

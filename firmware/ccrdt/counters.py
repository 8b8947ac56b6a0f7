"""Per-node G-counters: satisfied checks and violations (u64, like the Rust
crate) and local operations (``version``, the state's vector clock).

A node's row lives in slice tag % SLICES.  u64 counts are (low, high) u32
pairs: reading an ``array('Q')`` element allocates a long on MicroPython,
reading 'I' does not, and counter words are moved as bytes or tested in
viper for the same reason.  Part section: u8 rows, then per row: u32 tag,
u64 satisfied, u64 violations, u32 version."""
from struct import pack_into
from micropython import const

from ccrdt import fnv, raw
from ccrdt.layout import COUNTER_LIMIT, SLICES, TAG_LIMIT

SATISFIED = const(0)
VIOLATIONS = const(1)
_ROW = const(24)
_H_ROW = const(0x4D)  # item kind of the state hash


def get64(arr, i):
    """The u64 held as the (low, high) u32 pair i of arr."""
    return arr[2 * i] | (arr[2 * i + 1] << 32)


def _sum(arr, slots):
    t = 0
    for i in slots:
        t += get64(arr, i)
    return t


class Counters:
    """The counter rows of the nodes of a node table, slot by slot."""

    def __init__(self, nodes):
        self.nodes = nodes
        nn = nodes.capacity
        self._sat = raw.zeros32(2 * nn)
        self._vio = raw.zeros32(2 * nn)
        self._ver = raw.zeros32(nn)
        self._s = self._rc = 0  # part writer: slice, next row
        self.pending = False  # the part writer's slice has more to write

    # ---- reading ---------------------------------------------------------
    def total_satisfied(self):
        return _sum(self._sat, range(self.nodes.count))

    def total_violations(self):
        return _sum(self._vio, range(self.nodes.count))

    def origin(self, tag):
        """(satisfied, violations) counted by one origin (one incarnation of
        a board, by its tag)."""
        i = self.nodes.find(tag)
        return (get64(self._sat, i), get64(self._vio, i)) if i >= 0 else (0, 0)

    def node_satisfied(self, node):
        """Satisfied checks counted by the board(s) named node, every
        incarnation included."""
        return _sum(self._sat, self.nodes.slots_named(node))

    def node_violations(self, node):
        return _sum(self._vio, self.nodes.slots_named(node))

    def version(self, slot):
        """Operations of the node in slot, as seen here."""
        return self._ver[slot]

    def count(self, kind, slot):
        """The SATISFIED or VIOLATIONS count of slot (0 for slot -1)."""
        return get64(self._vio if kind else self._sat, slot) if slot >= 0 else 0

    # ---- local operations ------------------------------------------------
    def set_count(self, kind, slot, v):
        arr = self._vio if kind else self._sat
        arr[2 * slot] = v & 0xFFFFFFFF
        arr[2 * slot + 1] = v >> 32

    def tick(self, slot):
        self._ver[slot] += 1

    # ---- state hash and equality -----------------------------------------
    def live(self, n):
        """True if node n's row is not all zero (counter words are tested in
        viper: read into Python they could be heap ints)."""
        return self._ver[n] or raw.any32(self._sat, 2 * n, 2) or raw.any32(self._vio, 2 * n, 2)

    def _in(self, n, s):
        """True if node n's row belongs to slice s and is not all zero."""
        return self.nodes.tags[n] % SLICES == s and self.live(n)

    def hash_into(self, s, acc, st):
        """Add the item hashes of slice s's rows to acc[s]."""
        tags = self.nodes.tags
        for n in range(self.nodes.count):
            # _in(n, s) written out: the other slices' rows cost no call
            if tags[n] % SLICES == s and self.live(n):
                fnv.reset(st, 0)
                fnv.update_u32(st, 0, _H_ROW)
                fnv.update_u32(st, 0, tags[n])
                fnv.update(st, 0, self._sat, 8 * n, 8)
                fnv.update(st, 0, self._vio, 8 * n, 8)
                fnv.update_u32(st, 0, self._ver[n])
                fnv.mix_into(acc, s, st, 0)

    def equal(self, other):
        """The same rows as other, compared in place (slots matched by tag)."""
        live = 0
        for n in range(self.nodes.count):
            if self.live(n):
                live += 1
                m = other.nodes.find(self.nodes.tags[n])
                if (m < 0 or other.version(m) != self._ver[n]
                        or other.count(SATISFIED, m) != self.count(SATISFIED, n)
                        or other.count(VIOLATIONS, m) != self.count(VIOLATIONS, n)):
                    return False
        for m in range(other.nodes.count):
            if other.live(m):
                live -= 1
        return live == 0

    # ---- part section ------------------------------------------------------
    def start(self, s):
        self._s = s
        self._rc = 0
        self._settle()

    def _settle(self):
        while self._rc < self.nodes.count and not self._in(self._rc, self._s):
            self._rc += 1
        self.pending = self._rc < self.nodes.count

    def write(self, buf, o, limit):
        """Write at buf[o:] the section of the slice's next rows that end
        before limit; returns its end."""
        tags, at, nr = self.nodes.tags, o, 0
        o += 1
        r = self._rc
        while r < self.nodes.count:
            if self._in(r, self._s):
                if o + _ROW > limit:
                    break
                pack_into("<I", buf, o, tags[r])
                raw.copy(buf, o + 4, self._sat, 8 * r, 8)
                raw.copy(buf, o + 12, self._vio, 8 * r, 8)
                pack_into("<I", buf, o + 20, self._ver[r])
                o += _ROW
                nr += 1
            r += 1
        buf[at] = nr
        self._rc = r
        self._settle()
        return o

    def parse(self, buf, o, end, s, batch, own):
        """Validate the section at buf[o:end] (the position flag after it
        included); returns its end.  batch (the part reader) notes unknown
        nodes, and its claim is set if a row of own (a tag, or -1) holds
        more than this node has."""
        if o >= end:
            raise ValueError("truncated rows")
        nr = buf[o]
        o += 1
        if o + _ROW * nr + 1 > end:
            raise ValueError("row count")
        for _ in range(nr):
            tag = raw.below(buf, o, TAG_LIMIT)
            if tag < 0 or tag % SLICES != s:
                raise ValueError("row tag")
            # the top quarter of u64, and of the version's range, is never valid
            v = raw.below(buf, o + 20, COUNTER_LIMIT)
            if buf[o + 11] >= 0xC0 or buf[o + 19] >= 0xC0 or v < 0:
                raise ValueError("row counter out of range")
            slot = self.nodes.find(tag)
            if tag == own and (slot < 0 or v > self._ver[slot]
                               or raw.above64(self._sat, slot, buf, o + 4)
                               or raw.above64(self._vio, slot, buf, o + 12)):
                batch.claim = True
            if slot < 0:
                batch.note_unknown(tag)
            o += _ROW
        return o

    def join_part(self, buf, o, reader):
        """Join the parsed section at buf[o:]; returns its end and sets
        reader.changed if a row changed."""
        changed = False
        nr = buf[o]
        o += 1
        for _ in range(nr):
            tag = raw.below(buf, o, TAG_LIMIT)
            slot = self.nodes.find(tag)
            if slot < 0:
                slot = self.nodes.add(tag)
            if raw.join64(self._sat, slot, buf, o + 4):
                changed = True
            if raw.join64(self._vio, slot, buf, o + 12):
                changed = True
            v = raw.below(buf, o + 20, COUNTER_LIMIT)
            if v > self._ver[slot]:
                self._ver[slot] = v
                changed = True
            o += _ROW
        if changed:
            reader.changed = True
        return o

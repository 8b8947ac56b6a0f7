"""Identifiers, and the node table that every replicated type of a state
shares: a slot per origin (30-bit tag, name if heard), never freed (counter
rows are G-counters)."""
from array import array

from ccrdt import CapacityError, fnv, raw
from ccrdt.layout import ID_MAX, STRIDE


def id_bytes(value, what):
    """UTF-8 bytes of a constraint id or node name, checked."""
    if not isinstance(value, str):
        raise TypeError("%s must be str, not %s" % (what, type(value).__name__))
    b = value.encode()
    if not 0 < len(b) <= ID_MAX:
        raise ValueError("%s must be 1..%d bytes of UTF-8: %r" % (what, ID_MAX, value))
    return b


def valid_name(buf, off, n):
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


class NodeTable:
    """Slots 0..count-1 of the origins known here.  ``tags`` and ``names``
    (per slot: a length byte, 0 if no name was heard yet, then the bytes)
    are read directly by the types and the snapshot code."""

    def __init__(self, capacity):
        self.capacity = capacity
        self.tags = raw.zeros32(capacity)
        self.names = bytearray(capacity * STRIDE)
        self.count = 0

    def find(self, tag):
        return raw.find32(self.tags, self.count, tag, 0)

    def add(self, tag, name=None):
        if self.count == self.capacity:
            raise CapacityError("node table full: %d nodes" % self.capacity)
        i = self.count
        self.tags[i] = tag
        if name:
            self.set_name(i, name, 0, len(name))
        self.count += 1
        return i

    def set_name(self, i, buf, off, n):
        o = i * STRIDE
        self.names[o] = n
        raw.copy(self.names, o + 1, buf, off, n)

    def has_name(self, i):
        return self.names[i * STRIDE] != 0

    def name(self, i):
        """Slot i's name, or its tag in hex if no name was heard yet."""
        o = i * STRIDE
        n = self.names[o]
        return bytes(self.names[o + 1:o + 1 + n]).decode() if n else "#%08x" % self.tags[i]

    def repeated(self):
        """[(name, slots)] of the names heard here that hold more than one
        slot, most slots first: a board replaced or reflashed (each life
        is an incarnation with a slot of its own), or boards given one
        name.  Built when asked (status, a refusal): it allocates."""
        counts = {}
        for i in range(self.count):
            if self.has_name(i):
                n = self.name(i)
                counts[n] = counts.get(n, 0) + 1
        out = [(c, n) for n, c in counts.items() if c > 1]
        out.sort(reverse=True)
        return [(n, c) for c, n in out]

    def slots_named(self, name):
        """Slots of the nodes known here under name (several after a board
        was replaced: each incarnation keeps its own row)."""
        b = id_bytes(name, "node id")
        first = origin_tag(b)  # incarnation 0: known by its tag alone
        out = []
        for i in range(self.count):
            o = i * STRIDE
            if self.tags[i] == first or (self.names[o] == len(b)
                                         and raw.equal(self.names, o + 1, b, 0, len(b))):
                out.append(i)
        return out

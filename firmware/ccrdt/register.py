"""The position register: an Eisenstein integer (a, b) where the lowest norm
a*a - a*b + b*b wins; ties go to the higher logical clock, then the lower
writer tag, then (a, b), so every replica picks the same value without a
wall clock.  It lives in slice 0; its part section is a flag byte, then if
1: i32 a, i32 b, u32 clock, u32 writer tag."""
from struct import pack_into
from micropython import const

from ccrdt import fnv, raw
from ccrdt.layout import COUNTER_LIMIT, TAG_LIMIT

_I32_MIN = -(1 << 31)
_I32_MAX = (1 << 31) - 1
_SIZE = const(16)
_H_POS = const(0x50)  # item kind of the state hash


def _i32(v):
    return isinstance(v, int) and not isinstance(v, bool) and _I32_MIN <= v <= _I32_MAX


def position_pair(pos):
    """(a, b) of a proposed position, checked: two 32-bit ints."""
    if not (isinstance(pos, (tuple, list)) and len(pos) == 2 and _i32(pos[0]) and _i32(pos[1])):
        raise ValueError("position must be a pair of 32-bit ints (a, b), got %r" % (pos,))
    return pos[0], pos[1]


def norm(a, b):
    return a * a - a * b + b * b


class PositionRegister:
    """Lowest-norm-wins register of an Eisenstein integer (a, b)."""

    def __init__(self, nodes):
        self.nodes = nodes
        self.a = self.b = self.clock = self.writer = 0
        self.is_set = False
        # The held value as the wire writes it: a part that carries the same
        # bytes is recognised without computing a norm, which is a heap int
        # for large coordinates.
        self.packed = bytearray(_SIZE)
        self.pending = False  # the part writer's slice still holds the register

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

    def local_clock(self):
        """The clock of a local update: one past the held one.  It only
        breaks ties of equal norm, so at its limit it stays there (a forged
        clock near the limit cannot stop updates)."""
        return min(self.clock + 1, COUNTER_LIMIT - 1)

    # ---- state hash and equality ---------------------------------------
    def hash_into(self, s, acc, st):
        """Add the register's item hash to acc[s] (it lives in slice 0)."""
        if s == 0 and self.is_set:
            fnv.reset(st, 0)
            fnv.update_u32(st, 0, _H_POS)
            fnv.update_u32(st, 0, self.a)
            fnv.update_u32(st, 0, self.b)
            fnv.update_u32(st, 0, self.clock)
            fnv.update_u32(st, 0, self.writer)
            fnv.mix_into(acc, s, st, 0)

    def equal(self, other):
        return self.is_set == other.is_set and self.packed == other.packed

    # ---- part section --------------------------------------------------
    def start(self, s):
        self.pending = s == 0 and self.is_set

    def write(self, buf, o, limit):
        """Write at buf[o:] the section: the register, if the slice still
        holds it and it ends before limit; returns its end."""
        take = self.pending and o + 1 + _SIZE <= limit
        buf[o] = 1 if take else 0
        if not take:
            return o + 1
        raw.copy(buf, o + 1, self.packed, 0, _SIZE)
        self.pending = False
        return o + 1 + _SIZE

    def parse(self, buf, o, end, s, batch):
        """Validate the section at buf[o:end]; returns its end.  batch (the
        part reader) notes the writer's node."""
        flag = buf[o]
        o += 1
        if flag > 1 or (flag and s != 0):
            raise ValueError("position flag")
        if flag:
            if o + _SIZE > end:
                raise ValueError("truncated position")
            if raw.below(buf, o + 8, COUNTER_LIMIT) < 0:
                raise ValueError("position clock out of range")
            tag = raw.below(buf, o + 12, TAG_LIMIT)
            if tag < 0:
                raise ValueError("position writer tag")
            if self.nodes.find(tag) < 0:
                batch.note_unknown(tag)
            o += _SIZE
        return o

    def join_part(self, buf, o, reader):
        """Join the parsed section at buf[o:]; returns its end and sets
        reader.changed if the value changed."""
        if not buf[o]:
            return o + 1
        o += 1
        tag = raw.below(buf, o + 12, TAG_LIMIT)
        if self.nodes.find(tag) < 0:
            self.nodes.add(tag)
        held = self.is_set and raw.equal(self.packed, 0, buf, o, _SIZE)
        if not held and self.join(raw.i32(buf, o), raw.i32(buf, o + 4),
                                  raw.below(buf, o + 8, COUNTER_LIMIT), tag):
            reader.changed = True
        return o + _SIZE

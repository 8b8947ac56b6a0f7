"""Vector clock with a fixed number of entries.

Entries are keyed by the node's 30-bit tag (``state.origin_tag``; by name,
``increment``/``get`` take ``tag30(name)``, a node of incarnation 0), the
same key the replicated state uses, so a clock never stores strings.
"""
from array import array
from micropython import const

from ccrdt import CapacityError, raw
from ccrdt.fnv import tag30

BEFORE = const(-1)
EQUAL = const(0)
AFTER = const(1)
CONCURRENT = const(2)

_U64_MAX = 0xFFFFFFFFFFFFFFFF


class VectorClock:
    def __init__(self, capacity=32):
        self._tags = raw.zeros32(capacity)
        self._t = array("Q", bytes(8 * capacity))
        self._n = 0

    def _find(self, tag):
        tags = self._tags
        for i in range(self._n):
            if tags[i] == tag:
                return i
        return -1

    def _slot(self, tag):
        i = self._find(tag)
        if i < 0:
            if self._n == len(self._tags):
                raise CapacityError("vector clock full: %d nodes" % self._n)
            i = self._n
            self._tags[i] = tag
            self._t[i] = 0
            self._n += 1
        return i

    def increment(self, node):
        """Count one event of node; returns its new time."""
        i = self._slot(tag30(node))
        if self._t[i] == _U64_MAX:
            raise OverflowError("vector clock entry at 2**64-1")
        self._t[i] += 1
        return self._t[i]

    def get(self, node):
        return self.get_tag(tag30(node))

    def get_tag(self, tag):
        i = self._find(tag)
        return self._t[i] if i >= 0 else 0

    def observe(self, tag, time):
        """Raise tag's entry to at least time (one entry of a merge)."""
        if time:
            i = self._find(tag)
            if i < 0:
                i = self._slot(tag)
            if time > self._t[i]:
                self._t[i] = time

    def merge(self, other):
        """Element-wise max, in place. Raises CapacityError, unchanged, if it cannot fit."""
        theirs = other.entries()
        new = sum(1 for tag, _ in theirs if self._find(tag) < 0)
        if self._n + new > len(self._tags):
            raise CapacityError("vector clock full: merge needs %d more entries" % new)
        for tag, time in theirs:
            self.observe(tag, time)

    def compare(self, other):
        less = greater = False
        for i in range(self._n):
            a, b = self._t[i], other.get_tag(self._tags[i])
            if a < b:
                less = True
            elif a > b:
                greater = True
        for tag, _ in other.entries():
            if self._find(tag) < 0:
                less = True
        if less and greater:
            return CONCURRENT
        if less:
            return BEFORE
        if greater:
            return AFTER
        return EQUAL

    def happened_before_or_equal(self, other):
        return self.compare(other) in (BEFORE, EQUAL)

    def is_concurrent(self, other):
        return self.compare(other) == CONCURRENT

    def node_count(self):
        return sum(1 for i in range(self._n) if self._t[i])

    def total_time(self):
        return sum(self._t[i] for i in range(self._n))

    def entries(self):
        """(tag, time) pairs of the non-zero entries."""
        return [(self._tags[i], self._t[i]) for i in range(self._n) if self._t[i]]

    def __eq__(self, other):
        return isinstance(other, VectorClock) and self.compare(other) == EQUAL

    def __str__(self):
        return "VectorClock(%s)" % ", ".join("%08x:%d" % e for e in sorted(self.entries()))

"""Sizes and value ranges of the replicated state, shared by its types
(``ccrdt.awset``, ``ccrdt.counters``, ``ccrdt.register``), the state and
its binary form (``ccrdt.delta``)."""
from micropython import const

SLICES = const(32)
ID_MAX = const(16)  # bytes of UTF-8, for constraint ids and node names
# Live constraints one origin may hold dots for in one slice: bounds the size
# of a single-origin delta part so that it always fits in one frame.
SLICE_ORIGIN_MAX = const(8)
STRIDE = const(17)  # one length byte + ID_MAX bytes per name or id slot
FREE = const(0xFF)  # slice byte of an unused constraint slot
PART_MAX = const(224)  # bytes of one delta part: a frame holds at least one
TAG_LIMIT = const(1 << 30)  # node tags are 30-bit folded FNV-1a
# Dots, contexts, versions and position clocks stay below this (3 * 2**28):
# small ints on a 32-bit port, with the top quarter of 30 bits never valid.
COUNTER_LIMIT = const(0x30000000)
# Satisfied and violation counts stay below the top quarter of u64.
ROW_LIMIT = 3 << 62

# The snapshot files (``ccrdt.store`` writes them, ``ccrdt.restore`` reads
# them at boot), and what loading them found.
FILES = ("state.tmp", "state.bin", "state.prev")  # newest first
NEWEST = const(0)
OLDER = const(1)
NONE = const(2)
MOVED = const(3)
FLEET_KEY = const(6)  # owner bytes naming fleet and key (ccrdt.boot.owner); the chip id follows

"""STATUS frames: what a node tells the monitor, authenticated like gossip.

Payload (little-endian), after the 10-byte header of ``ccrdt.wire``:

    u32 state hash      u16 constraints    u16 nodes known
    u64 satisfied (fleet total as seen here)   u64 violations (same)
    u64 own satisfied (committed to flash)     u64 own violations (same)
    u32 frames received u32 frames sent    u32 bytes sent
    u32 frames rejected u32 frames dropped (queue full)   u32 handler errors
    u32 uptime ms       u32 heap free      u32 heap used
    u8 flags (1 workload running, 2 local changes not yet committed,
              4 recovering: commits wait for a peer)
    u8 name length, name
"""
from struct import pack_into, unpack_from

from micropython import const

STATUS = const(4)
_FMT = "<IHHQQQQIIIIIIIIIB"
_FIELDS = ("hash", "constraints", "nodes", "satisfied", "violations", "own_satisfied",
           "own_violations", "rx", "tx", "tx_bytes", "rejected", "dropped", "errors",
           "uptime_ms", "heap_free", "heap_used", "flags")
_SIZE = const(77)
RUNNING = const(1)
PENDING = const(2)
RECOVERING = const(4)


def write(framer, buf, values, name):
    """A sealed STATUS frame in buf with values in _FIELDS order; its length."""
    o = framer.begin(buf, STATUS)
    pack_into(_FMT, buf, o, *values)
    o += _SIZE
    buf[o] = len(name)
    buf[o + 1:o + 1 + len(name)] = name
    return framer.seal(buf, o + 1 + len(name))


def parse(buf, n):
    """The fields of a STATUS frame (already checked by a Framer), or None."""
    from ccrdt import wire
    o = wire.HEADER
    end = n - wire.MAC_LEN
    if wire.kind(buf) != STATUS or end < o + _SIZE + 1 or end != o + _SIZE + 1 + buf[o + _SIZE]:
        return None
    d = {"name": bytes(buf[o + _SIZE + 1:end]).decode(), "tag": wire.sender(buf)}
    for k, v in zip(_FIELDS, unpack_from(_FMT, buf, o)):
        d[k] = v
    return d

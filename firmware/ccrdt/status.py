"""STATUS frames: what a node tells the monitor, authenticated like gossip.

Payload (little-endian), after the 14-byte header of ``ccrdt.wire``.
Version 1:

    u32 state hash      u16 constraints    u16 nodes known
    u64 satisfied (fleet total as seen here)   u64 violations (same)
    u64 own satisfied (committed to flash)     u64 own violations (same)
    u32 frames received u32 frames sent    u32 bytes sent
    u32 frames rejected u32 frames dropped (queue full)   u32 handler errors
    u32 uptime ms       u32 heap free      u32 heap used
    u8 flags (1 workload running, 2 local changes not yet committed,
              4 was "recovering" and is no longer set: a board that booted
              from an older snapshot starts a new incarnation at once)
    u8 name length, name

Version 2 appends, after the name:

    u8 version (2)
    u32 uptime s
    u16 node table size     u16 constraint table size (full: the count above
                            equals the size)
    u32 local operations refused (the call raised)
    u16 queued items the last commit could not apply (kept queued, retried)
    u32 PINGs from another board with this board's name
    u32 parts that claimed more of this node than it had issued
    u8 R, R x u32: frames rejected for reason 1..R (codes of ccrdt.wire and
                   ccrdt.gossip); R is the highest reason counted, those
                   above it are 0

Version 3 appends, after the rejected counts:

    u32 sequence numbers of known senders that never arrived (lost on the
        way, or sent to other boards: an upper bound on losses before the
        receive queue; ``ccrdt.fresh``)
    u32 answers withheld: their asker had no credit left (``ccrdt.fresh``)
    u16 the sender's epoch (raised at every boot)

Version 4 appends:

    u16 node table slots held by names that hold more than one slot here
        (incarnations of a board replaced or reflashed, each life a slot of
        its own, or boards given one name; names this node heard only)

Later versions only append: a reader takes the fields of the versions it
knows and ignores the bytes after them.

Every field saturates at its width: a value past the largest the field holds
(a fleet total past 2**64 - 1, uptime past 2**32 - 1 ms) is sent as that
largest value, never wrapped, and means "at least this".
"""
from struct import calcsize, pack_into, unpack_from


from ccrdt import wire
from ccrdt.compat import ticks_diff
from ccrdt.proto import STATUS
from ccrdt.proto import STATUS_VERSION as VERSION

# Each version's fields, by name, and their struct format (in that order).
_N1 = ("hash", "constraints", "nodes", "satisfied", "violations", "own_satisfied",
       "own_violations", "rx", "tx", "tx_bytes", "rejected", "dropped", "errors", "uptime_ms",
       "heap_free", "heap_used", "flags")
_F1 = "<IHHQQQQIIIIIIIIIB"
_N2 = ("uptime_s", "max_nodes", "max_constraints", "refused_ops", "held_ops", "clashes",
       "own_claims")
_F2 = "<IHHIHII"
_N3 = ("skipped", "withheld", "epoch")
_F3 = "<IIH"
_N4 = ("repeated",)
_F4 = "<H"
_S1, _S2 = calcsize(_F1), calcsize(_F2)
# The fields after the rejected counts, version by version: (version,
# names, format, size).
_LATER = ((3, _N3, _F3, calcsize(_F3)), (4, _N4, _F4, calcsize(_F4)))
_S_LATER = sum(x[3] for x in _LATER)
FIELDS = _N1 + _N2 + _N3 + _N4  # the numeric fields
# Frame bytes but the rejected counts, with the longest name (16 bytes).
_FIXED = wire.HEADER + _S1 + 1 + 16 + 1 + _S2 + 1 + _S_LATER
REASONS_MAX = (wire.FRAME_MAX - wire.MAC_LEN - _FIXED) // 4


def saturate(v, code):
    """v clamped to the range of an unsigned struct field ("B", "H", "I", "Q")."""
    return 0 if v < 0 else min(v, (1 << 8 * calcsize(code)) - 1)


def _pack(buf, o, names, fmt, values):
    pack_into(fmt, buf, o, *[saturate(values[k], fmt[i + 1]) for i, k in enumerate(names)])


def _unpack(d, names, fmt, buf, o):
    for k, v in zip(names, unpack_from(fmt, buf, o)):
        d[k] = v


def write(framer, buf, values, name):
    """A sealed STATUS frame in buf; its length.  values: a dict with every
    name in FIELDS, and "rejected_by", the counts of reasons 1..R; name: the
    node's name as bytes."""
    counts = values["rejected_by"]
    if len(counts) > REASONS_MAX or len(name) > 16:
        raise ValueError("STATUS: %d reasons (at most %d), name of %d bytes (at most 16)"
                         % (len(counts), REASONS_MAX, len(name)))
    o = framer.begin(buf, STATUS)
    _pack(buf, o, _N1, _F1, values)
    o += _S1
    buf[o] = len(name)
    buf[o + 1:o + 1 + len(name)] = name
    o += 1 + len(name)
    buf[o] = VERSION
    _pack(buf, o + 1, _N2, _F2, values)
    o += 1 + _S2
    buf[o] = len(counts)
    o += 1
    for c in counts:
        pack_into("<I", buf, o, saturate(c, "I"))
        o += 4
    for _, names, fmt, size in _LATER:
        _pack(buf, o, names, fmt, values)
        o += size
    return framer.seal(buf, o)


def parse(buf, n):
    """The fields of a STATUS frame n bytes long (its MAC already checked by
    a Framer): a dict keyed by field name, plus "name", "tag", "version" and
    "rejected_by" (a list).  A version 1 frame has None for the fields of
    later versions.  ValueError says what is wrong with a frame that is not
    one."""
    end = n - wire.MAC_LEN
    o = wire.HEADER
    if end < o or wire.kind(buf) != STATUS:
        raise ValueError("not a STATUS frame")
    if end < o + _S1 + 1 or end < o + _S1 + 1 + buf[o + _S1]:
        raise ValueError("STATUS frame of %d bytes is too short" % n)
    d = {}
    _unpack(d, _N1, _F1, buf, o)
    o += _S1
    try:
        d["name"] = bytes(buf[o + 1:o + 1 + buf[o]]).decode()
    except UnicodeError:
        raise ValueError("STATUS node name is not UTF-8")
    d["tag"] = wire.sender(buf)
    o += 1 + buf[o]
    if o == end:
        d["version"] = 1
        for k in FIELDS[len(_N1):]:
            d[k] = None
        d["rejected_by"] = None
        return d
    v = d["version"] = buf[o]
    if v < 2:
        raise ValueError("STATUS version %d cannot have bytes after the name" % v)
    if end < o + 1 + _S2 + 1 or end < o + 2 + _S2 + 4 * buf[o + 1 + _S2]:
        raise ValueError("STATUS version %d frame of %d bytes is too short" % (v, n))
    _unpack(d, _N2, _F2, buf, o + 1)
    o += 1 + _S2
    r = buf[o]
    d["rejected_by"] = list(unpack_from("<%dI" % r, buf, o + 1))
    o += 1 + 4 * r
    for since, names, fmt, size in _LATER:
        if v < since:
            for k in names:
                d[k] = None
            continue
        if end < o + size:
            raise ValueError("STATUS version %d frame of %d bytes is too short" % (v, n))
        _unpack(d, names, fmt, buf, o)
        o += size
    if v <= VERSION and end != o:
        raise ValueError("STATUS version %d frame has %d bytes too many" % (v, end - o))
    return d


class Uptime:
    """Milliseconds since start, summed from tick differences: the tick
    counter wraps (every 2**30 ms on an ESP32), the sum never does and never
    goes back.  Exact while it is read at least once per half a tick period
    (2**29 ms, 6.2 days); the node reads it every status interval.  Past 2**30 the sum is a
    heap int on a 32-bit port: a small allocation per read, which happens
    on the status path only."""

    def __init__(self, clock):
        self._clock = clock
        self._last = clock()
        self._ms = 0

    def ms(self):
        now = self._clock()
        d = ticks_diff(now, self._last)
        self._last = now
        if d > 0:
            self._ms += d
        return self._ms

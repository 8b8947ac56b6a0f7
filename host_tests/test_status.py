"""STATUS frames and uptime: every field saturates, never raises or wraps;
older frames still parse, later ones are read as far as known; uptime runs
on past the tick counter's period.  Runs on CPython and under MicroPython
(host_tests/mprun.py)."""
from struct import pack_into

from ccrdt import proto, wire
from ccrdt.status import REASONS_MAX, STATUS, VERSION, Uptime, parse, write

try:  # the tick counter's period: 2**30 on a 32-bit port, 2**62 on 64 bits
    from time import ticks_add
    PERIOD = ticks_add(0, -1) + 1
except ImportError:  # CPython: ccrdt.compat's ticks, as on an ESP32
    PERIOD = 1 << 30
KEY = bytes(range(16))
U32, U64 = 0xFFFFFFFF, 0xFFFFFFFFFFFFFFFF
V1_FMT = "<IHHQQQQIIIIIIIIIB"  # the version-1 payload, as documented


class Clock:
    """A millisecond tick counter like ticks_ms, wrapping at PERIOD."""

    def __init__(self, start=0):
        self.total = start

    def __call__(self):
        return self.total % PERIOD

    def advance(self, ms):
        self.total += ms


def values(**over):
    v = {"hash": 0x12345678, "constraints": 3, "nodes": 2, "satisfied": 10, "violations": 1,
         "own_satisfied": 7, "own_violations": 0, "rx": 100, "tx": 90, "tx_bytes": 5000,
         "rejected": 4, "dropped": 0, "errors": 0, "uptime_ms": 60000, "heap_free": 50000,
         "heap_used": 30000, "flags": 1, "uptime_s": 60, "max_nodes": 32, "max_constraints": 64,
         "refused_ops": 2, "held_ops": 1, "clashes": 4, "own_claims": 5,
         "rejected_by": [0, 0, 0, 0, 3, 0, 1], "skipped": 17, "withheld": 3, "epoch": 12,
         "repeated": 9}
    v.update(over)
    return v


def round_trip(v, name=b"kitchen-1"):
    framer = wire.Framer(KEY, 1, 77)
    buf = bytearray(wire.FRAME_MAX)
    n = write(framer, buf, v, name)
    assert n <= wire.FRAME_MAX
    assert wire.Framer(KEY, 1, 0).check(buf, n) == proto.OK
    return parse(buf, n)


def test_fields_round_trip():
    v = values()
    d = round_trip(v)
    for k in v:
        assert d[k] == v[k], k
    assert d["name"] == "kitchen-1" and d["tag"] == 77 and d["version"] == VERSION


def test_every_field_saturates_at_its_width():
    # Fleet totals past 2**64 - 1 (several rows near the top), u32 counters
    # past 2**32 - 1 after months, a negative value: clamped, never wrapped.
    v = values(satisfied=U64 + 1, violations=(1 << 70) + 5, own_satisfied=U64,
               rx=U32 + 1, tx=1 << 40, tx_bytes=U32, rejected=U32 + 7, dropped=1 << 33,
               errors=U32 + 2, uptime_ms=(1 << 32) + 123, heap_free=U32 + 1, heap_used=-5,
               constraints=0x10000, nodes=0x1FFFF, flags=0x100, uptime_s=U32 + 9,
               max_nodes=1 << 20, max_constraints=0xFFFF, refused_ops=U32 + 1, held_ops=1 << 17,
               clashes=U32 + 3, own_claims=1 << 40,
               rejected_by=[U32 + 1, 0, 1 << 35, 5], skipped=U32 + 1, withheld=1 << 33,
               epoch=1 << 16, repeated=1 << 16)
    d = round_trip(v)
    assert d["satisfied"] == U64 and d["violations"] == U64 and d["own_satisfied"] == U64
    for k in ("rx", "tx", "tx_bytes", "rejected", "dropped", "errors", "uptime_ms", "heap_free",
              "uptime_s", "refused_ops", "clashes", "own_claims", "skipped", "withheld"):
        assert d[k] == U32, k
    assert d["epoch"] == d["repeated"] == 0xFFFF
    assert d["heap_used"] == 0
    assert d["constraints"] == d["nodes"] == d["max_nodes"] == d["held_ops"] == 0xFFFF
    assert d["max_constraints"] == 0xFFFF and d["flags"] == 0xFF
    assert d["rejected_by"] == [U32, 0, U32, 5]


def test_the_longest_frame_fits():
    d = round_trip(values(rejected_by=[U32] * REASONS_MAX), b"n" * 16)
    assert d["rejected_by"] == [U32] * REASONS_MAX and d["name"] == "n" * 16
    assert "reasons" in raises(ValueError, round_trip, values(rejected_by=[0] * (REASONS_MAX + 1)))


def v1_frame(name=b"old"):
    framer = wire.Framer(KEY, 1, 5)
    buf = bytearray(wire.FRAME_MAX)
    o = framer.begin(buf, STATUS)
    pack_into(V1_FMT, buf, o, 7, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 1)
    o += 77
    buf[o] = len(name)
    buf[o + 1:o + 1 + len(name)] = name
    return framer, buf, framer.seal(buf, o + 1 + len(name))


def test_a_version_1_frame_still_parses():
    _, buf, n = v1_frame()
    d = parse(buf, n)
    assert d["version"] == 1 and d["name"] == "old" and d["hash"] == 7 and d["uptime_ms"] == 13
    assert d["flags"] == 1 and d["uptime_s"] is None and d["rejected_by"] is None


def test_a_later_version_appends_and_is_read_as_far_as_known():
    framer = wire.Framer(KEY, 1, 9)
    buf = bytearray(wire.FRAME_MAX)
    n = write(framer, buf, values(), b"new")
    end = n - wire.MAC_LEN
    buf[wire.HEADER + 77 + 1 + 3] = VERSION + 1
    buf[end:end + 5] = b"\x01\x02\x03\x04\x05"  # a field of the next version
    d = parse(buf, framer.seal(buf, end + 5))
    assert d["version"] == VERSION + 1 and d["refused_ops"] == 2 and d["rejected_by"][4] == 3
    assert d["skipped"] == 17 and d["withheld"] == 3 and d["epoch"] == 12
    assert d["repeated"] == 9


def test_a_version_2_frame_still_parses():
    framer = wire.Framer(KEY, 1, 9)
    buf = bytearray(wire.FRAME_MAX)
    n = write(framer, buf, values(), b"two")
    end = n - wire.MAC_LEN - 12  # without the fields of versions 3 and 4
    buf[wire.HEADER + 77 + 1 + 3] = 2
    d = parse(buf, framer.seal(buf, end))
    assert d["version"] == 2 and d["rejected_by"] == [0, 0, 0, 0, 3, 0, 1]
    assert d["skipped"] is None and d["epoch"] is None and d["repeated"] is None
    assert "too many" in refused(buf, framer.seal(buf, end + 1), "a version 2 frame, a byte more")


def test_a_version_3_frame_still_parses():
    framer = wire.Framer(KEY, 1, 9)
    buf = bytearray(wire.FRAME_MAX)
    n = write(framer, buf, values(), b"three")
    end = n - wire.MAC_LEN - 2  # without the version 4 field
    buf[wire.HEADER + 77 + 1 + 5] = 3
    d = parse(buf, framer.seal(buf, end))
    assert d["version"] == 3 and d["epoch"] == 12 and d["repeated"] is None
    assert "short" in refused(buf, framer.seal(buf, end - 1), "a version 3 frame, a byte less")


def refused(buf, n, what):
    try:
        parse(buf, n)
    except ValueError as e:
        return str(e)
    raise AssertionError("%s was parsed" % what)


def test_frames_that_are_not_status_raise_value_error():
    framer = wire.Framer(KEY, 1, 9)
    buf = bytearray(wire.FRAME_MAX)
    n = write(framer, buf, values(), b"abc")
    assert "short" in refused(buf, n - 40, "a frame cut in its version 2 part")
    assert "short" in refused(buf, n - 100, "a frame cut in its version 1 part")
    assert "too many" in refused(buf, n + 1, "a version 2 frame with a stray byte")
    name_at = wire.HEADER + 77 + 1
    buf[name_at] = 0xFF
    assert "UTF-8" in refused(buf, n, "a name that is not UTF-8")
    buf[name_at] = ord("a")
    buf[name_at + 3] = 1  # a version byte below 2 after the name
    assert "version 1 cannot" in refused(buf, n, "a version-1 frame with trailing bytes")
    buf[1] = (buf[1] & 0xF0) | proto.PING
    assert "not a STATUS" in refused(buf, n, "a PING")


def test_uptime_runs_on_past_the_tick_period():
    clock = Clock(start=PERIOD - 1000)  # one second before ticks_ms wraps
    up = Uptime(clock)
    last = 0
    for _ in range(50):  # 50 * (2**28 - 1) ms: about 155 days, 12 wraps
        clock.advance((1 << 28) - 1)
        ms = up.ms()
        assert ms > last and ms > 0
        last = ms
    assert last == 50 * ((1 << 28) - 1) == clock.total - (PERIOD - 1000)
    assert up.ms() == last  # no time passed: no change


def raises(exc, fn, *args):
    try:
        fn(*args)
    except exc as e:
        return str(e)
    raise AssertionError("%s%r did not raise %s" % (fn.__name__, args, exc.__name__))

from check import raises

from ccrdt import proto, wire

# RFC 4493 section 4 test vectors (AES-128 key, messages of 0, 16, 40, 64 bytes).
KEY = bytes.fromhex("2b7e151628aed2a6abf7158809cf4f3c")
MSG = bytes.fromhex(
    "6bc1bee22e409f96e93d7e117393172a"
    "ae2d8a571e03ac9c9eb76fac45af8e51"
    "30c81c46a35ce411e5fbc1191a0a52ef"
    "f69f2445df4f9b17ad2b417be66c3710")
VECTORS = [
    (0, "bb1d6929e95937287fa37d129b756746"),
    (16, "070a16b46b4d4144f79bdd9dd04a287c"),
    (40, "dfa66747de9ae63030ca32611497c827"),
    (64, "51f0bebf7e3b9d92fc49741779363cfe"),
]


def test_cmac_rfc4493_vectors():
    mac = wire.Cmac(KEY)
    out = bytearray(16)
    for n, expected in VECTORS:
        mac.tag_into(MSG, n, out, 0)
        assert bytes(out) == bytes.fromhex(expected), n


def test_frame_round_trip_and_refusals():
    f = wire.Framer(KEY, 7, 1234)
    buf = bytearray(wire.FRAME_MAX)
    o = f.begin(buf, 3)
    buf[o:o + 4] = b"\x01\x02\x03\x04"
    n = f.seal(buf, o + 4)
    assert n == wire.HEADER + 4 + wire.MAC_LEN
    assert f.check(buf, n) == proto.OK
    assert wire.kind(buf) == 3 and wire.sender(buf) == 1234
    bad = bytearray(buf)
    bad[o] ^= 1
    assert f.check(bad, n) == proto.BAD_MAC
    assert wire.Framer(KEY, 8, 1).check(buf, n) == proto.OTHER_FLEET
    assert wire.Framer(bytes(16), 7, 1).check(buf, n) == proto.BAD_MAC
    assert f.check(buf, wire.HEADER) == proto.BAD_SIZE
    assert f.check(buf, 251) == proto.BAD_SIZE
    bad = bytearray(buf)
    bad[1] = ((proto.WIRE_VERSION + 1) << 4) | 3
    assert f.check(bad, n) == proto.BAD_VERSION
    bad[1] = ((proto.WIRE_VERSION - 1) << 4) | 3  # a board of the previous version
    assert f.check(bad, n) == proto.BAD_VERSION


def test_bad_key_length():
    raises(ValueError, wire.Cmac, b"short")

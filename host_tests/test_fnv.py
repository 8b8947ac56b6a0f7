from array import array

from ccrdt import fnv


def test_published_vectors():
    # FNV-1a 32-bit vectors from the FNV authors' test suite.
    assert fnv.fnv1a32(b"") == 0x811C9DC5
    assert fnv.fnv1a32(b"a") == 0xE40C292C
    assert fnv.fnv1a32(b"foobar") == 0xBF9CF968


def test_str_hashes_as_utf8():
    assert fnv.fnv1a32("foobar") == fnv.fnv1a32(b"foobar")
    assert fnv.fnv1a32("é") == fnv.fnv1a32("é".encode())


def test_incremental_equals_one_shot():
    st = array("I", [0])
    fnv.reset(st, 0)
    fnv.update(st, 0, b"foo", 0, 3)
    fnv.update(st, 0, b"xbarx", 1, 3)
    assert st[0] == fnv.fnv1a32(b"foobar")


def test_update_u32_is_little_endian_bytes():
    st = array("I", [0])
    fnv.reset(st, 0)
    fnv.update_u32(st, 0, 0x04030201)
    assert st[0] == fnv.fnv1a32(b"\x01\x02\x03\x04")


def test_fold30_is_small_and_folds():
    st = array("I", [0xFFFFFFFF])
    assert fnv.fold30(st, 0) == 0x3FFFFFFF ^ 3
    assert 0 <= fnv.tag30("node") < 1 << 30


def test_mix_into_adds_the_murmur3_finalizer_mod_2_32():
    acc = array("I", [0xFFFFFFF0, 0])
    st = array("I", [1, 0])
    fnv.mix_into(acc, 0, st, 0)
    assert acc[0] == (0xFFFFFFF0 + 0x514E28B7) & 0xFFFFFFFF  # fmix32(1), MurmurHash3
    fnv.mix_into(acc, 1, st, 1)
    assert acc[1] == 0  # fmix32(0) == 0

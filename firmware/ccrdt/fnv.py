"""FNV-1a 32-bit hashing that allocates nothing on MicroPython.

A running hash lives in a slot of an ``array('I')`` rather than in a Python
int: on a 32-bit board any int above 2**30-1 is a heap object, so viper code
keeps the value in the buffer and callers read out only the 30-bit fold
(the xor-folding the FNV authors recommend for shorter digests).
"""
import micropython
from array import array


@micropython.viper
def reset(st: ptr32, i: int):
    st[i] = uint(0x811C9DC5)


@micropython.viper
def update(st: ptr32, i: int, buf: ptr8, off: int, n: int):
    h = uint(st[i])
    for j in range(off, off + n):
        h = ((h ^ uint(buf[j])) * uint(16777619)) & uint(0xFFFFFFFF)
    st[i] = h


@micropython.viper
def update_u32(st: ptr32, i: int, v: int):
    """Feed the 4 little-endian bytes of v (a 32-bit value)."""
    h = uint(st[i])
    x = uint(v)
    for _ in range(4):
        h = ((h ^ (x & uint(0xFF))) * uint(16777619)) & uint(0xFFFFFFFF)
        x = x >> 8
    st[i] = h


@micropython.viper
def mix_into(acc: ptr32, j: int, st: ptr32, i: int):
    """acc[j] += fmix32(st[i]) (mod 2**32): an order-independent sum of
    item hashes.  FNV-1a is nearly linear in an item's last bytes, so raw
    FNV values of two items whose trailing counters move together can cancel
    in a sum; the finalizer of MurmurHash3 (two multiply-xorshift rounds,
    full avalanche) makes every item hash an independent-looking word first."""
    h = uint(st[i])
    h ^= h >> 16
    h = (h * uint(0x85EBCA6B)) & uint(0xFFFFFFFF)
    h ^= h >> 13
    h = (h * uint(0xC2B2AE35)) & uint(0xFFFFFFFF)
    h ^= h >> 16
    acc[j] = (uint(acc[j]) + h) & uint(0xFFFFFFFF)


@micropython.viper
def fold30(st: ptr32, i: int) -> int:
    h = uint(st[i])
    return int((h >> 30) ^ (h & uint(0x3FFFFFFF)))


@micropython.viper
def hash30(buf: ptr8, off: int, n: int) -> int:
    """fold30 of the FNV-1a of buf[off:off+n] in one call (the running hash
    stays in a register: no slot needed)."""
    h = uint(0x811C9DC5)
    for j in range(off, off + n):
        h = ((h ^ uint(buf[j])) * uint(16777619)) & uint(0xFFFFFFFF)
    return int((h >> 30) ^ (h & uint(0x3FFFFFFF)))


def _hashed(data):
    if isinstance(data, str):
        data = data.encode()
    st = array("I", [0])
    reset(st, 0)
    update(st, 0, data, 0, len(data))
    return st


def fnv1a32(data):
    """FNV-1a 32 of bytes or str, as an int (allocates: not for hot paths)."""
    return _hashed(data)[0]


def tag30(data):
    """The 30-bit folded FNV-1a of bytes or str: small on every port, used
    as a key."""
    if isinstance(data, str):
        data = data.encode()
    return hash30(data, 0, len(data))

"""Byte-buffer helpers in viper: copy, compare and read integers without
allocating (slicing a bytearray or memoryview would create a new object)."""
from array import array
import micropython


def zeros32(n):
    """An array('I') of n zeros.  array("I", bytes(4 * n)) would need room
    for both at once (16 KB for the 8 KB dot table of a full state); range()
    gives the length without a buffer, and fill() then clears the values."""
    a = array("I", range(n))
    fill(a, 0, 4 * n, 0)
    return a


@micropython.viper
def copy(dst: ptr8, doff: int, src: ptr8, soff: int, n: int):
    for i in range(n):
        dst[doff + i] = src[soff + i]


@micropython.viper
def equal(a: ptr8, aoff: int, b: ptr8, boff: int, n: int) -> bool:
    for i in range(n):
        if a[aoff + i] != b[boff + i]:
            return False
    return True


@micropython.viper
def u32(buf: ptr8, off: int) -> uint:
    """Little-endian u32 at off.  Returned as uint: a viper ``-> int`` is a
    signed 32-bit value on 32-bit ports.  A heap int there above 2**30-1,
    so hot paths use ``below`` instead."""
    return uint(buf[off]) | (uint(buf[off + 1]) << 8) | (uint(buf[off + 2]) << 16) \
        | (uint(buf[off + 3]) << 24)


@micropython.viper
def below(buf: ptr8, off: int, limit: int) -> int:
    """The little-endian u32 at off if it is below limit (at most 2**30),
    else -1: a small int on every port, so reading never allocates."""
    v = uint(buf[off]) | (uint(buf[off + 1]) << 8) | (uint(buf[off + 2]) << 16) \
        | (uint(buf[off + 3]) << 24)
    if v >= uint(limit):
        return -1
    return int(v)


@micropython.viper
def i32(buf: ptr8, off: int) -> int:
    """Little-endian signed 32-bit value at off (sign from the top byte, so
    that CPython, where viper casts are plain ints, gets it too)."""
    top = buf[off + 3]
    if top > 127:
        top -= 256
    return (top << 24) | buf[off] | (buf[off + 1] << 8) | (buf[off + 2] << 16)


@micropython.viper
def above64(pairs: ptr32, i: int, buf: ptr8, off: int) -> bool:
    """True if the little-endian u64 at buf[off:] is above the (low, high)
    u32 pair i of an array('I').  The words are assembled inline here and in
    the functions beside it: a viper call returning a uint of 2**30 or more
    would allocate on a 32-bit port."""
    lo = uint(buf[off]) | (uint(buf[off + 1]) << 8) | (uint(buf[off + 2]) << 16) \
        | (uint(buf[off + 3]) << 24)
    hi = uint(buf[off + 4]) | (uint(buf[off + 5]) << 8) | (uint(buf[off + 6]) << 16) \
        | (uint(buf[off + 7]) << 24)
    mhi = uint(pairs[2 * i + 1])
    return hi > mhi or (hi == mhi and lo > uint(pairs[2 * i]))


@micropython.viper
def join64(pairs: ptr32, i: int, buf: ptr8, off: int) -> bool:
    """Raise the u64 held as the (low, high) u32 pair i of an array('I') to
    the little-endian u64 at buf[off:]; True if it grew.  Done in viper so
    that no word of it becomes a heap int on a 32-bit port."""
    lo = uint(buf[off]) | (uint(buf[off + 1]) << 8) | (uint(buf[off + 2]) << 16) \
        | (uint(buf[off + 3]) << 24)
    hi = uint(buf[off + 4]) | (uint(buf[off + 5]) << 8) | (uint(buf[off + 6]) << 16) \
        | (uint(buf[off + 7]) << 24)
    mhi = uint(pairs[2 * i + 1])
    if hi > mhi or (hi == mhi and lo > uint(pairs[2 * i])):
        pairs[2 * i] = lo
        pairs[2 * i + 1] = hi
        return True
    return False


@micropython.viper
def u16(buf: ptr8, off: int) -> int:
    return buf[off] | (buf[off + 1] << 8)


@micropython.viper
def xor_into(dst: ptr8, doff: int, src: ptr8, soff: int, n: int):
    for i in range(n):
        dst[doff + i] ^= src[soff + i]


@micropython.viper
def fill(dst: ptr8, off: int, n: int, v: int):
    for i in range(n):
        dst[off + i] = v


@micropython.viper
def find32(keys: ptr32, n: int, key: int, start: int) -> int:
    """First i in [start, n) with keys[i] == key (a 30-bit key), or -1."""
    k = uint(key)
    for i in range(start, n):
        if uint(keys[i]) == k:
            return i
    return -1


@micropython.viper
def any32(arr: ptr32, start: int, n: int) -> bool:
    """True if any of arr[start:start+n] is non-zero."""
    for i in range(start, start + n):
        if arr[i]:
            return True
    return False


@micropython.viper
def find8(arr: ptr8, n: int, v: int, start: int) -> int:
    """First i in [start, n) with arr[i] == v, or -1."""
    for i in range(start, n):
        if arr[i] == v:
            return i
    return -1


@micropython.viper
def utf8(buf: ptr8, off: int, n: int) -> bool:
    """True if buf[off:off+n] is well-formed UTF-8 (no overlong forms, no
    surrogates, nothing above U+10FFFF), checked without decoding."""
    i = off
    end = off + n
    while i < end:
        c = buf[i]
        k = 0  # continuation bytes
        lo = 0x80  # the range of the first of them
        hi = 0xBF
        if c < 0x80:
            i += 1
            continue
        if c >= 0xC2 and c <= 0xDF:
            k = 1
        elif c >= 0xE0 and c <= 0xEF:
            k = 2
            if c == 0xE0:
                lo = 0xA0
            if c == 0xED:
                hi = 0x9F
        elif c >= 0xF0 and c <= 0xF4:
            k = 3
            if c == 0xF0:
                lo = 0x90
            if c == 0xF4:
                hi = 0x8F
        else:
            return False
        if i + k >= end:
            return False
        b = buf[i + 1]
        if b < lo or b > hi:
            return False
        for j in range(2, k + 1):
            b = buf[i + j]
            if b < 0x80 or b > 0xBF:
                return False
        i += k + 1
    return True

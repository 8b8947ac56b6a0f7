"""Byte-buffer helpers in viper: copy, compare and read integers without
allocating (slicing a bytearray or memoryview would create a new object)."""
import micropython


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
def u32(buf: ptr8, off: int) -> int:
    """Little-endian u32 at off (a heap int on 32-bit ports only above 2**30-1)."""
    return int(uint(buf[off]) | (uint(buf[off + 1]) << 8) | (uint(buf[off + 2]) << 16)
               | (uint(buf[off + 3]) << 24))


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

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

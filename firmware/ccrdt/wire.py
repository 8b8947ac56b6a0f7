"""Frames: at most 250 bytes (one ESP-NOW payload), the same on UDP.

    offset size  field
    0      1     magic 0xCC
    1      1     version (high nibble, 2) | type (low nibble)
                 (the numbers: ``ccrdt.proto``)
    2      2     fleet id, u16 little-endian
    4      4     sender node tag (``state.origin_tag`` of its name and
                 incarnation, 30 bits), u32
    8      2     sender's epoch, u16: raised at every boot of the board and
                 kept on flash before its first frame (``ccrdt.store``)
    10     4     sequence number, u32 below 2**30, per sender and epoch
    14     4     receiver node tag, u32; 0xFFFFFFFF: any board (broadcasts,
                 STATUS, and a ping to an address whose board is not known)
    18     n     payload (by type, see ccrdt.gossip)
    18+n   8     AES-CMAC (RFC 4493) of bytes 0..18+n under the fleet key,
                 truncated to 64 bits

(epoch, sequence) only grows for one sender tag, over reboots too, so a
receiver refuses a frame it has seen, or one older than its window
(``ccrdt.fresh``): a recorded frame sent again changes nothing.  Sequence
numbers are per sender, not per receiver, so a frame recorded on its way
to one board is news to another: the receiver's tag under the MAC lets
that other board refuse it unread.

AES-CMAC rather than HMAC-SHA256: on MicroPython ``cryptolib.aes`` encrypts
into a preallocated buffer and allocates nothing, while every
``hashlib.sha256().digest()`` allocates (about 224 bytes measured on the unix
port), and the receive path must not allocate.
"""
from struct import pack_into

import cryptolib
from micropython import const

from ccrdt import raw
from ccrdt.layout import TAG_LIMIT
from ccrdt.proto import (
    BAD_MAC,
    BAD_MAGIC,
    BAD_SIZE,
    BAD_VERSION,
    FRAME_MAX,
    HEADER,
    MAC_LEN,
    MAGIC,
    OK,
    OTHER_FLEET,
    SEQ_LIMIT,
    WIRE_VERSION,
)


# Literals: SEQ_LIMIT (2**30) is a heap int on a 32-bit port, and arithmetic
# on it would allocate at every frame.
_SEQ_LAST = const(0x3FFFFFFF)  # SEQ_LIMIT - 1: the largest sequence number
_SEQ_LOW = const(0x3FF00000)  # 2**20 frames before it: time for a new epoch


class Cmac:
    """AES-CMAC with preallocated buffers: tag_into allocates nothing."""

    def __init__(self, key):
        if len(key) != 16:
            raise ValueError("fleet key must be 16 bytes, got %d" % len(key))
        self._aes = cryptolib.aes(bytes(key), 1)
        self._x = bytearray(16)
        self._k1 = bytearray(16)
        self._k2 = bytearray(16)
        self._t = bytearray(16)
        self._aes.encrypt(self._x, self._t)  # L = AES(K, 0^128)
        self._double(self._t, self._k1)
        self._double(self._k1, self._k2)

    @staticmethod
    def _double(src, dst):
        carry = 0
        for i in range(15, -1, -1):
            v = (src[i] << 1) | carry
            carry = v >> 8
            dst[i] = v & 0xFF
        if src[0] & 0x80:
            dst[15] ^= 0x87

    def tag_into(self, msg, n, out, ooff, tlen=16):
        """Write the first tlen bytes of CMAC(msg[0:n]) at out[ooff:]."""
        x, aes = self._x, self._aes
        raw.fill(x, 0, 16, 0)
        last = n - 16 if n and n % 16 == 0 else n - n % 16
        for off in range(0, last, 16):
            raw.xor_into(x, 0, msg, off, 16)
            aes.encrypt(x, x)
        if n and n % 16 == 0:
            raw.xor_into(x, 0, msg, last, 16)
            raw.xor_into(x, 0, self._k1, 0, 16)
        else:
            raw.xor_into(x, 0, msg, last, n - last)
            x[n - last] ^= 0x80
            raw.xor_into(x, 0, self._k2, 0, 16)
        aes.encrypt(x, x)
        raw.copy(out, ooff, x, 0, tlen)

    def verify(self, msg, n, tag_off):
        """True if msg[tag_off:tag_off+MAC_LEN] is the tag of msg[0:n]."""
        self.tag_into(msg, n, self._t, 0, MAC_LEN)
        return raw.equal(self._t, 0, msg, tag_off, MAC_LEN)


class Framer:
    """Writes and checks the frames of one node of one fleet."""

    def __init__(self, key, fleet, tag):
        if not 0 <= fleet <= 0xFFFF:
            raise ValueError("fleet id must be 0..65535")
        self.cmac = Cmac(key)
        self.fleet = fleet
        self.tag = tag
        self.epoch = 0  # set by the owner from its snapshot (see begin)
        self.seq = 0

    def begin(self, buf, kind, to=-1):
        """Write a header of the given type for the board of tag to (-1:
        any board); returns the payload offset.  The sequence stops at its
        limit rather than wrap, so a counter is never used twice (receivers
        refuse the repeats); the node moves to a new epoch long before
        (``seq_low``)."""
        if self.seq < _SEQ_LAST:
            self.seq += 1
        pack_into("<BBHIHI", buf, 0, MAGIC, (WIRE_VERSION << 4) | kind,
                  self.fleet, self.tag, self.epoch, self.seq)
        if to < 0:
            raw.fill(buf, 14, 4, 0xFF)  # 0xFFFFFFFF is a heap int on a 32-bit port
        else:
            pack_into("<I", buf, 14, to)
        return HEADER

    def new_epoch(self, epoch):
        """Frames from now on carry epoch, counting from 1 again."""
        self.epoch, self.seq = epoch, 0

    def seq_low(self):
        """True when the sequence nears its limit: time for a new epoch."""
        return self.seq >= _SEQ_LOW

    def seal(self, buf, end):
        """Append the MAC after buf[0:end]; returns the frame length."""
        self.cmac.tag_into(buf, end, buf, end, MAC_LEN)
        return end + MAC_LEN

    def check(self, buf, n):
        """OK or the reason the frame n bytes long is refused."""
        if n < HEADER + MAC_LEN or n > FRAME_MAX:
            return BAD_SIZE
        if buf[0] != MAGIC:
            return BAD_MAGIC
        if buf[1] >> 4 != WIRE_VERSION:
            return BAD_VERSION
        if raw.u16(buf, 2) != self.fleet:
            return OTHER_FLEET
        if not self.cmac.verify(buf, n - MAC_LEN, n - MAC_LEN):
            return BAD_MAC
        return OK


def kind(buf):
    return buf[1] & 0x0F


def sender(buf):
    return raw.u32(buf, 4)


def epoch(buf):
    return raw.u16(buf, 8)


def seq(buf):
    """The frame's sequence number, or -1 if it is not below SEQ_LIMIT."""
    return raw.below(buf, 10, SEQ_LIMIT)


def claimed_sender(buf):
    """The sender tag buf claims before its MAC is checked; -1 if it is no
    tag (read without allocating, whatever the bytes)."""
    return raw.below(buf, 4, TAG_LIMIT)


def receiver(buf):
    """The tag of the board the frame is for, or -1 for any board."""
    return raw.below(buf, 14, TAG_LIMIT)

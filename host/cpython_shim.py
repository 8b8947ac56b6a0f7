"""What MicroPython has built in, given to CPython so the firmware runs there
unchanged.  ``ccrdt.compat`` imports this on CPython only; no board gets it.

Importing it installs a ``micropython`` module (``const``, and ``viper`` /
``native`` as plain decorators), the viper cast names ``ptr8``, ``ptr32`` and
``uint`` as builtins, so viper functions run as ordinary Python, and a
``cryptolib`` whose AES is the ``cryptography`` package's.  Viper code in the
firmware masks its arithmetic to 32 bits explicitly, which makes the two
interpreters compute the same values.  It also provides the tick functions
of MicroPython's ``time``.
"""
import builtins
import sys
import time as _time
import types
from array import array as _array


def _same(x):
    return x


def _ptr8(b):
    # Viper's ptr8 sees any buffer as bytes: a str as its UTF-8, an
    # array as its memory (little-endian, like the ESP32).
    if isinstance(b, str):
        return b.encode()
    if isinstance(b, _array):
        return memoryview(b).cast("B")
    return b


def _viper(fn):
    """Apply the ptr8 casts that viper applies to annotated arguments."""
    code = fn.__code__
    names = code.co_varnames[:code.co_argcount]
    cast = [i for i, n in enumerate(names) if fn.__annotations__.get(n) is _ptr8]
    if not cast:
        return fn

    def call(*args):
        args = list(args)
        for i in cast:
            args[i] = _ptr8(args[i])
        return fn(*args)
    call.__name__ = fn.__name__
    call.__doc__ = fn.__doc__
    return call


builtins.ptr8 = _ptr8
if "micropython" not in sys.modules:
    _mp = types.ModuleType("micropython")
    _mp.const = _same
    _mp.viper = _viper
    _mp.native = _same
    sys.modules["micropython"] = _mp
# uint() is viper's 32-bit cast; ptr32 is only used on array('I').
builtins.ptr32 = _same
builtins.uint = lambda x: x & 0xFFFFFFFF

_TICKS_PERIOD = 1 << 30
_TICKS_HALF = _TICKS_PERIOD >> 1


def ticks_ms():
    return int(_time.monotonic() * 1000) & (_TICKS_PERIOD - 1)


def ticks_diff(a, b):
    return ((a - b + _TICKS_HALF) & (_TICKS_PERIOD - 1)) - _TICKS_HALF


def sleep_ms(ms):
    _time.sleep(ms / 1000)


class _Aes:
    """MicroPython's cryptolib.aes in ECB mode (1), backed by the
    `cryptography` package: a real AES, only the API is adapted."""

    def __init__(self, key, mode):
        from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
        if mode != 1:
            raise ValueError("only ECB (mode 1) is provided on CPython")
        self._enc = Cipher(algorithms.AES(bytes(key)), modes.ECB()).encryptor()

    def encrypt(self, src, dst=None):
        out = self._enc.update(bytes(src))
        if dst is None:
            return out
        dst[:len(out)] = out


if "cryptolib" not in sys.modules:
    _cl = types.ModuleType("cryptolib")
    _cl.aes = _Aes
    sys.modules["cryptolib"] = _cl

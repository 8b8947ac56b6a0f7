"""Test helpers that run on CPython and on MicroPython alike (no pytest)."""


def raises(exc, fn, *args, **kw):
    """Call fn; return the exception if it raised exc, fail otherwise."""
    try:
        fn(*args, **kw)
    except exc as e:
        return e
    raise AssertionError("%s not raised by %s" % (exc.__name__, getattr(fn, "__name__", fn)))


class Rng:
    """xorshift32: the same sequence on every interpreter, for replayable tests."""

    def __init__(self, seed):
        self.x = (seed * 2654435761 + 1) & 0xFFFFFFFF or 1

    def next(self):
        x = self.x
        x ^= (x << 13) & 0xFFFFFFFF
        x ^= x >> 17
        x ^= (x << 5) & 0xFFFFFFFF
        self.x = x
        return x

    def below(self, n):
        return self.next() % n

    def chance(self, p):
        return self.next() % 10000 < int(p * 10000)

    def choice(self, seq):
        return seq[self.below(len(seq))]


def fresh_dir(path):
    """Make path (and build/) if missing, and remove the snapshots in it."""
    import os
    for d in ("build", path):
        try:
            os.mkdir(d)
        except OSError:
            pass
    for name in ("state.bin", "state.tmp", "state.prev"):
        try:
            os.remove(path + "/" + name)
        except OSError:
            pass

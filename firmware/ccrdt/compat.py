"""The MicroPython functions the firmware needs beyond the language, under
one name on every interpreter it runs on.

On MicroPython they are the port's own.  CPython runs the firmware from this
repository only (tests and host tools): there they come from
``host/cpython_shim.py``, beside ``firmware/``, which also installs the
``micropython`` and ``cryptolib`` modules; no board receives it.
"""
import sys

IS_MICROPYTHON = sys.implementation.name == "micropython"

if IS_MICROPYTHON:
    from time import sleep_ms, ticks_diff, ticks_ms
else:
    import os
    _root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    sys.path.append(os.path.join(_root, "host"))
    from cpython_shim import sleep_ms, ticks_diff, ticks_ms  # noqa: F401


def readable(sock):
    """``await readable(sock)``: wait until sock is readable on MicroPython,
    the same wait asyncio.Stream uses (its asyncio awaits a generator; its
    core is not in the stubs)."""
    import asyncio
    yield asyncio.core._io_queue.queue_read(sock)  # pyright: ignore[reportAttributeAccessIssue]

"""Where things are on the host: the repository, the tools installed in the
virtualenv beside this Python, and which MicroPython runs the host nodes,
virtual boards, benchmarks and tests, with the heap that fits its word size.

MICROPYTHON=path in the environment chooses the interpreter; by default it
is the venv's 64-bit unix port."""
import os
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIRMWARE = os.path.join(ROOT, "firmware")
SHIM = os.path.join(ROOT, "host_tests", "shim")
# A 32-bit unix port built from upstream source, beside the repository.
MP32 = os.path.join(os.path.dirname(ROOT), "shared", "mp32", "micropython")
# Heap per word size.  32-bit: the order of a plain ESP32's heap.  64-bit
# pointers and object headers take twice the bytes, so the same firmware
# needs more there; arrays and buffers are the same size on both, so this
# figure is room to run, not a stand-in for a board's heap.
HEAPS = {32: 110000, 64: 220000}
# Test and bench processes are no node: they hold a sender and receivers at
# full capacity at once, compile the firmware from source (fragmenting the
# heap) and, measuring allocations, pile them up with the GC disabled.  They
# get this heap on either word size; the nodes' fit is what HEAPS checks.
TEST_HEAP = 440000


def tool(name):
    """Path of a tool beside this Python (the Makefile's venv), else on PATH,
    else the bare name."""
    here = os.path.join(os.path.dirname(sys.executable), name)
    return here if os.path.exists(here) else shutil.which(name) or name


def _chosen():
    path = os.environ.get("MICROPYTHON")
    if not path:
        return tool("micropython")
    # A bare name is looked up on PATH; a path is fixed now, since nodes run
    # in their own directories.
    return (shutil.which(path) or path) if os.sep not in path else os.path.abspath(path)


MICROPYTHON = _chosen()
_bits = {}


def word_bits(interp=MICROPYTHON):
    """32 or 64: the word size of a MicroPython, asked once by running it."""
    if interp not in _bits:
        try:
            r = subprocess.run([interp, "-c", "import sys; print(sys.maxsize)"],
                               capture_output=True, text=True, timeout=30)
        except OSError as e:
            raise RuntimeError("MicroPython %s does not run: %s" % (interp, e))
        out = r.stdout.strip()
        if r.returncode or out not in ("2147483647", "9223372036854775807"):
            raise RuntimeError("MicroPython %s: sys.maxsize gave %r %s" % (interp, out, r.stderr.strip()))
        _bits[interp] = 32 if out == "2147483647" else 64
    return _bits[interp]


def heap(interp=MICROPYTHON):
    return HEAPS[word_bits(interp)]


def command(interp=MICROPYTHON, heap_bytes=None):
    """The command line that starts interp with its heap (or heap_bytes)."""
    return [interp, "-X", "heapsize=%d" % (heap_bytes or heap(interp))]


def board(interp=MICROPYTHON):
    """The boards/ directory whose .mpy files interp loads: the native code
    that viper compiles to differs between x64 and x86."""
    return {32: "unix32", 64: "unix"}[word_bits(interp)]


def describe(interp=MICROPYTHON):
    """e.g. '../shared/mp32/micropython (32-bit)', for output."""
    shown = os.path.relpath(interp) if os.path.isabs(interp) else interp
    return "%s (%d-bit)" % (shown, word_bits(interp))

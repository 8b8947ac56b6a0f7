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
# The one place host tools get the firmware package from (on CPython it
# brings its own stand-ins for what MicroPython has, see ccrdt.compat).
if FIRMWARE not in sys.path:
    sys.path.insert(0, FIRMWARE)
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
            raise RuntimeError("MicroPython %s: sys.maxsize gave %r %s"
                               % (interp, out, r.stderr.strip()))
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


def shim(interp=MICROPYTHON):
    """The host stand-ins (host_tests/shim: espnow, aioespnow, network,
    machine) compiled to .mpy for interp, in build/shim-<board>/: on a
    board these are built into the firmware, so compiling their source at
    boot would take heap a board never spends (on a 32-bit heap, enough to
    stop a node)."""
    import json
    b = board(interp)
    with open(os.path.join(ROOT, "boards", b, "board.json")) as f:
        arch = json.load(f)["arch"]
    out = os.path.join(ROOT, "build", "shim-" + b)
    os.makedirs(out, exist_ok=True)
    for name in sorted(os.listdir(SHIM)):
        if name.endswith(".py"):
            subprocess.run([tool("mpy-cross"), "-march=" + arch, "-o",
                            os.path.join(out, name[:-3] + ".mpy"), os.path.join(SHIM, name)],
                           check=True)
    return out


# micropython-lib, unmodified, for what a real board installs with mip.
MPLIB = os.path.join(os.path.dirname(ROOT), "shared", "micropython-lib")


def install_umqtt(lib):
    """umqtt.simple compiled into lib/umqtt/, as `mpremote mip install
    umqtt.simple` puts it in a board's /lib (bytecode: any word size)."""
    src = os.path.join(MPLIB, "umqtt.simple", "umqtt", "simple.py")
    if not os.path.exists(src):
        raise RuntimeError("%s is missing: the MQTT gateway needs micropython-lib's "
                           "umqtt.simple (../shared/micropython-lib)" % src)
    os.makedirs(os.path.join(lib, "umqtt"), exist_ok=True)
    subprocess.run([tool("mpy-cross"), "-o", os.path.join(lib, "umqtt", "simple.mpy"), src],
                   check=True)


_costs = {}


def _kept_after(interp, path, setup, code):
    """Heap bytes that code keeps in interp, measured after setup, with
    MICROPYPATH=path (memoized)."""
    key = (interp, path, code)
    if key not in _costs:
        script = ("import gc\n%s\ngc.collect()\na = gc.mem_alloc()\n%s\ngc.collect()\n"
                  "print(gc.mem_alloc() - a)" % (setup, code))
        out = subprocess.run(command(interp, 200000) + ["-c", script], capture_output=True,
                             text=True, env=dict(os.environ, MICROPYPATH=path), check=True)
        _costs[key] = int(out.stdout.strip())
    return _costs[key]


def shim_cost(interp=MICROPYTHON):
    """Heap bytes the compiled stand-ins take once imported in interp,
    measured: a board has these modules in its firmware, so a virtual board
    or an ESP-NOW host node gets this much on top of the board's heap."""
    return _kept_after(interp, shim(interp) + ":.frozen", "",
                       "import espnow, aioespnow, network, machine")


def gateway_cost(interp, mpy, lib):
    """Heap bytes the MQTT transport (firmware compiled in mpy) and
    umqtt.simple (in lib) take in interp, one transport included: what a
    gateway needs beyond a node, measured."""
    return _kept_after(interp, ":".join((lib, mpy, ".frozen")), "import asyncio",
                       "from ccrdt.transport.mqtt import MqttTransport\n"
                       "t = MqttTransport('gateway', '127.0.0.1')")

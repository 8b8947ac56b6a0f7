"""Where things are on the host: the repository, the tools installed in the
virtualenv beside this Python, and which MicroPython runs the host nodes,
virtual boards, benchmarks and tests, with the heap that fits its word size.

MICROPYTHON=path in the environment chooses the interpreter; by default it
is the venv's 64-bit unix port."""
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIRMWARE = os.path.join(ROOT, "firmware")
# The one place host tools get the firmware package from (on CPython it
# brings its own stand-ins for what MicroPython has, see ccrdt.compat).
if FIRMWARE not in sys.path:
    sys.path.insert(0, FIRMWARE)
SHIM = os.path.join(ROOT, "host_tests", "shim")
# A 32-bit unix port (an ESP32's word size), built from upstream source
# (docs/testing.md says how): MICROPYTHON32=path, else CI's offline cache
# beside the repository.  Without one, the 32-bit runs are skipped and said so.
MP32 = os.path.abspath(os.environ.get("MICROPYTHON32")
                       or os.path.join(os.path.dirname(ROOT), "shared", "mp32", "micropython"))
HOW_MP32 = ("a 32-bit MicroPython (an ESP32's word size) is the unix port built for i686, "
            "see docs/testing.md")
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
_frozen = {}


class Missing(RuntimeError):
    """Something a command needs is not on this machine.  str() is one line
    that says what and what to do; tools print it instead of a traceback."""


def word_bits(interp=MICROPYTHON):
    """32 or 64: the word size of a MicroPython, asked once by running it."""
    if interp not in _bits:
        try:
            r = subprocess.run([interp, "-c", "import sys; print(sys.maxsize)"],
                               capture_output=True, text=True, timeout=30)
        except OSError as e:
            raise Missing("MicroPython %s does not run: %s (MICROPYTHON=path chooses one; "
                          "make builds the venv's)" % (interp, e.strerror or e))
        out = r.stdout.strip()
        if r.returncode or out not in ("2147483647", "9223372036854775807"):
            raise Missing("MicroPython %s: sys.maxsize gave %r %s"
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


def frozen(interp=MICROPYTHON):
    """Whether interp has the firmware frozen in (tools/frozen.py builds
    one): its nodes then run main.py with no ccrdt files beside it, as a
    board whose firmware has ccrdt frozen does (memoized)."""
    if interp not in _frozen:
        with tempfile.TemporaryDirectory() as empty:
            r = subprocess.run([interp, "-c", "import ccrdt.node"], cwd=empty,
                               env=dict(os.environ, MICROPYPATH=".frozen"), capture_output=True)
        _frozen[interp] = r.returncode == 0
    return _frozen[interp]


def describe(interp=MICROPYTHON):
    """e.g. '../shared/mp32/micropython (32-bit)', for output."""
    shown = os.path.relpath(interp) if os.path.isabs(interp) else interp
    how = ", firmware frozen" if frozen(interp) else ""
    return "%s (%d-bit%s)" % (shown, word_bits(interp), how)


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


# micropython-lib's packages, for what a real board installs with mip.
# MPLIB=path names an offline copy: a clone of micropython-lib, or any
# directory that holds its package directories (CI's ../shared/micropython-lib).
# Without it, the unix port's own mip downloads a package from the index at
# micropython.org (MIP_INDEX=url: another like it), as a board does, into
# MIP_CACHE, which later runs reuse.
MIP_CACHE = os.path.join(ROOT, "build", "mip")


def mplib():
    """MPLIB as an absolute path, or None."""
    path = os.environ.get("MPLIB")
    return os.path.abspath(path) if path else None


def mplib_package(name):
    """The directory of micropython-lib's package name (it holds the
    package's manifest.py) in MPLIB; None without MPLIB or if it lacks it."""
    top = mplib()
    if top is None:
        return None
    if not os.path.isdir(top):
        raise Missing("MPLIB=%s is not a directory" % top)
    for d, dirs, names in os.walk(top):
        dirs[:] = sorted(x for x in dirs if not x.startswith("."))
        if os.path.basename(d) == name and "manifest.py" in names:
            return d
    return None


def mip_install(name, target, index=None):
    """`micropython -m mip install --target target name` with the venv's
    unix port (it has TLS; the 32-bit build has none): the package as .mpy
    from the index (micropython.org's, or index: the URL of one like it).
    Returns None, or why it failed (one line)."""
    cmd = [tool("micropython"), "-m", "mip", "install", "--target", target]
    index = index or os.environ.get("MIP_INDEX")
    try:
        r = subprocess.run(cmd + (["--index", index] if index else []) + [name],
                           capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as e:
        return str(e)
    if r.returncode == 0:
        return None
    lines = (r.stdout + r.stderr).strip().splitlines()
    return lines[-1] if lines else "exit status %d" % r.returncode


def install_umqtt(lib, cache=None, index=None):
    """umqtt.simple in lib/umqtt/, as `mip install umqtt.simple` puts it in
    a board's /lib (bytecode: any word size): compiled from MPLIB's copy, or
    what mip downloaded from index (once, into cache: MIP_CACHE).  Raises
    Missing if neither."""
    dst = os.path.join(lib, "umqtt")
    os.makedirs(dst, exist_ok=True)
    copy = mplib_package("umqtt.simple")
    if copy:
        subprocess.run([tool("mpy-cross"), "-o", os.path.join(dst, "simple.mpy"),
                        os.path.join(copy, "umqtt", "simple.py")], check=True)
        return
    if mplib():
        raise Missing("MPLIB=%s has no umqtt.simple (a directory of that name with its "
                      "manifest.py, as in micropython-lib)" % mplib())
    cache = cache or MIP_CACHE
    cached = os.path.join(cache, "umqtt")
    if not os.path.isdir(cached):
        why = mip_install("umqtt.simple", cache, index) or (
            None if os.path.isdir(cached) else "it installed no umqtt/")
        if why:
            shutil.rmtree(cache, ignore_errors=True)
            raise Missing("umqtt.simple, the MQTT client a gateway runs, is not here and mip "
                          "could not download it (%s): MPLIB=path/to/micropython-lib uses an "
                          "offline copy (git clone https://github.com/micropython/micropython-lib)"
                          % why)
    for name in os.listdir(cached):
        shutil.copy(os.path.join(cached, name), dst)


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
    return _kept_after(interp, ":".join((".frozen", lib, mpy)), "import asyncio",
                       "from ccrdt.transport.mqtt import MqttTransport\n"
                       "t = MqttTransport('gateway', '127.0.0.1')")

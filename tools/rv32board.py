"""The shared test modules on an emulated RV32 microcontroller.

    python tools/rv32board.py                  # core, wire and gossip test modules
    python tools/rv32board.py test_state       # chosen modules
    python tools/rv32board.py --bench          # tools/bench_rv32.py on the board
    python tools/rv32board.py --romfs          # code in ROM instead of over mount

Boots RV32_FIRMWARE (by default CI's copy, ../shared/mp32/virt-rv32-firmware.elf:
the MicroPython qemu port, a bare-metal rv32imc board with a 140 032-byte
heap) in qemu-system-riscv32.
The firmware is compiled as an ESP32-C3 gets it (`mpy-cross -march=rv32imc`,
tools/deploy.py), the test helpers to .mpy beside it, in build/rv32/ with
the repository's layout, so mprun's relative paths ("firmware",
"host_tests") hold on the board.  By default mpremote mounts that directory
as the board's /remote: every module is loaded into the heap, as .mpy files
on a board's filesystem are.  With --romfs the directory is a ROMFS image
placed in the board's ROM partition at boot, where bytecode runs in place,
as frozen code does.  Prints the board's output and its heap at three
points; qemu is stopped by its process id whatever happens.  Exit status 0
only if every test passed.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import time

from deploy import build
from hostenv import ROOT, tool

# MicroPython's qemu port built for BOARD=VIRT_RV32 (docs/testing.md says how):
# RV32_FIRMWARE=path, else CI's offline cache beside the repository.
ELF = os.path.abspath(os.environ.get("RV32_FIRMWARE") or os.path.join(
    os.path.dirname(ROOT), "shared", "mp32", "virt-rv32-firmware.elf"))
QEMU = "qemu-system-riscv32"
OUT = os.path.join(ROOT, "build", "rv32")  # beside it: OUT.qemu.log, OUT.romfs
# Where the board's ROMFS partition is (uctypes.addressof(vfs.rom_ioctl(2, 0))
# on this firmware); qemu's loader puts the image there before boot.
ROMFS_ADDR = 0x80610000
# Core, wire and gossip: what the board's MicroPython can import (no
# asyncio or sockets, so not the node loop or its transports).
MODULES = ["test_fnv", "test_vclock", "test_state", "test_laws", "test_wire", "test_gossip",
           "test_capacity",
           "test_hash", "test_claims", "alloc_checks"]
GC_BLOCK = 16  # bytes per GC block on a 32-bit port (4 words)

# Run on the board from the build directory: heap at start, after the
# firmware's modules are loaded, and after the tests; mprun ends with
# sys.exit, caught here to go on.
_TESTS = """import gc, sys, micropython
def heap(label):
    gc.collect()
    print('HEAP', label)
    micropython.mem_info()
heap('start')
sys.path[:0] = ['firmware', 'host_tests']
gc.threshold(2048)  # collect the loader's buffers as it goes: less fragmentation
import ccrdt.gossip, ccrdt.vclock, ccrdt.restore  # restore: the tests decode snapshots
gc.threshold(-1)
heap('firmware_loaded')
sys.argv[:] = ['mprun'] + %r
try:
    import mprun
except SystemExit:
    pass
heap('after')
"""
_PARITY = """import gc, sys
sys.path[:0] = ['firmware', 'host_tests']
gc.threshold(2048)
import ccrdt.gossip
gc.threshold(-1)
import parity
"""
_BENCH = """import gc, sys
sys.path[:0] = ['firmware', 'host_tests', 'tools']
gc.threshold(2048)
import ccrdt.gossip, histories
gc.threshold(-1)
import bench_rv32
"""


class BoardError(Exception):
    pass


def available():
    """Why the board cannot run here, or None."""
    if not shutil.which(QEMU):
        return "%s is not installed (Debian package qemu-system-misc)" % QEMU
    if not os.path.exists(ELF):
        return ("%s is missing (MicroPython's qemu port for VIRT_RV32; RV32_FIRMWARE=path, "
                "see docs/testing.md)" % ELF)
    return None


def _mpy(src, dst):
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    r = subprocess.run([tool("mpy-cross"), "-march=rv32imc", "-o", dst, src],
                       capture_output=True, text=True)
    if r.returncode:
        raise BoardError("mpy-cross failed on %s: %s" % (src, r.stderr.strip()))


def stage(out, romfs):
    """out/: firmware/ccrdt as .mpy, host_tests/*.py and tools/bench_rv32.py
    compiled beside it; with romfs also its image, out.romfs."""
    shutil.rmtree(out, ignore_errors=True)
    build("esp32_c3", os.path.join(out, "firmware"))
    for d, names in (("host_tests", sorted(os.listdir(os.path.join(ROOT, "host_tests")))),
                     ("tools", ["bench_rv32.py"])):
        for n in names:
            if n.endswith(".py") and n != "conftest.py":
                _mpy(os.path.join(ROOT, d, n), os.path.join(out, d, n[:-3] + ".mpy"))
    if romfs:
        r = subprocess.run([tool("mpremote"), "romfs", "--no-mpy", "-o", out + ".romfs",
                            "build", out], capture_output=True, text=True)
        if r.returncode:
            raise BoardError("mpremote romfs build failed: " + r.stdout + r.stderr)


class Board:
    """qemu-system-riscv32 running the RV32 firmware, its UART on a pty."""

    def __init__(self, log, rom=None, boot_timeout=10):
        cmd = [QEMU, "-machine", "virt", "-bios", "none", "-cpu", "rv32", "-semihosting",
               "-display", "none", "-monitor", "none", "-serial", "pty", "-kernel", ELF]
        if rom:
            cmd += ["-device", "loader,file=%s,addr=0x%x" % (rom, ROMFS_ADDR)]
        # qemu's own output goes to a file: a pipe nobody reads could fill up.
        with open(log, "w") as f:
            self.proc = subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL)
        self.port = None
        try:
            deadline = time.monotonic() + boot_timeout
            while not self.port and time.monotonic() < deadline and self.proc.poll() is None:
                time.sleep(0.05)
                with open(log) as f:
                    m = re.search(r"char device redirected to (/dev/pts/\d+)", f.read())
                self.port = m and m.group(1)
            if not self.port:
                with open(log) as f:
                    raise BoardError("qemu did not report its serial pty:\n" + f.read())
        except BaseException:
            self.stop()
            raise

    def mpremote(self, *args, timeout):
        """Exit status and output of mpremote on this board."""
        try:
            r = subprocess.run([tool("mpremote"), "connect", self.port] + list(args),
                               capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired as e:
            so_far = e.stdout or b""
            if isinstance(so_far, bytes):
                so_far = so_far.decode(errors="replace")
            raise BoardError("the board run timed out after %d s; output so far:\n%s"
                             % (timeout, so_far))
        return r.returncode, r.stdout + r.stderr

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def on_board(script, romfs, timeout, out, staged=False):
    """Stage out (unless staged), boot a board, run script from that directory."""
    if not staged:
        stage(out, romfs)
    with Board(out + ".qemu.log", out + ".romfs" if romfs else None) as b:
        if romfs:
            return b.mpremote("exec", "import os\nos.chdir('/rom')\n" + script, timeout=timeout)
        return b.mpremote("mount", out, "exec", script, timeout=timeout)


def run_tests(modules=MODULES, romfs=False, timeout=170, out=OUT):
    """Run each test module on a freshly booted board, as a test of a board
    starts from a reset; returns (passed, failed, output) summed."""
    stage(out, romfs)
    passed = failed = 0
    text = ""
    deadline = time.monotonic() + timeout
    for m in modules:
        rc, got = on_board(_TESTS % [m], romfs, max(1, deadline - time.monotonic()), out, True)
        text += got
        found = re.search(r"^(\d+) passed, (\d+) failed$", got, re.M)
        if rc or not found:
            raise BoardError("the board run of %s did not finish (mpremote exit %d):\n%s"
                             % (m, rc, text))
        passed += int(found.group(1))
        failed += int(found.group(2))
    return passed, failed, text


def run_parity(timeout=170, out=OUT):
    """What host_tests/parity.py prints on a fresh board (its lines only)."""
    rc, text = on_board(_PARITY, False, timeout, out)
    lines = [ln for ln in text.splitlines() if ln.split(" ", 1)[0] in _PARITY_WORDS]
    if rc or "Traceback" in text:
        raise BoardError("parity.py failed on the board:\n%s" % text)
    return lines


_PARITY_WORDS = ("seed", "slices", "snapshot", "extremes", "totals", "frame", "peer")


def run_bench(romfs=False, timeout=300, out=OUT):
    rc, text = on_board(_BENCH, romfs, timeout, out)
    if rc or "Traceback" in text:
        raise BoardError("the bench failed on the board:\n%s" % text)
    return text


def heap_figures(out):
    """[(label, used, free, largest free block)] in bytes, from mem_info()."""
    pattern = r"HEAP (\w+)\n.*?GC: total: \d+, used: (\d+), free: (\d+).*?max free sz: (\d+)"
    return [(m.group(1), int(m.group(2)), int(m.group(3)), int(m.group(4)) * GC_BLOCK)
            for m in re.finditer(pattern, out, re.S)]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("modules", nargs="*", default=MODULES,
                    help="test modules (default: %(default)s)")
    ap.add_argument("--bench", action="store_true",
                    help="run tools/bench_rv32.py instead of tests")
    ap.add_argument("--romfs", action="store_true", help="code in a ROMFS image, run in place")
    ap.add_argument("--timeout", type=int, default=300, help="seconds for the board run")
    a = ap.parse_args(argv)
    why = available()
    if why:
        sys.exit("cannot run the RV32 board: " + why)
    where = "ROMFS, run in place" if a.romfs else "mpremote mount, loaded into the heap"
    t0 = time.monotonic()
    try:
        if a.bench:
            out = run_bench(a.romfs, a.timeout)
            print("RV32 board emulated by qemu"
                  " (rates say how the code runs on rv32imc, not a chip's speed);"
                  " code: %s" % where)
            print(out, end="")
            return
        passed, failed, out = run_tests(a.modules, a.romfs, a.timeout)
    except BoardError as e:
        sys.exit(str(e))
    print(out, end="")
    print("\nRV32 board (qemu, rv32imc, 140 032-byte heap), firmware as .mpy (%s):"
          " %d passed, %d failed in %.0f s" % (where, passed, failed, time.monotonic() - t0))
    for label, used, free, block in heap_figures(out):
        print("  heap %-16s used %6d  free %6d  largest free block %6d bytes"
              % (label, used, free, block))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()

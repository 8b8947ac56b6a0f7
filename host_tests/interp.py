"""Where the real MicroPython tools are, for tests that drive them."""
import os
import shutil
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIRMWARE = os.path.join(ROOT, "firmware")
# ESP32-like heap for the 64-bit unix port: its objects take about twice the
# bytes they take on a 32-bit board, so 220 000 here stands for ~110 KB there.
HEAP = 220000


def tool(name):
    """Path of a tool installed beside this Python (the Makefile's venv), or on PATH."""
    here = os.path.join(os.path.dirname(sys.executable), name)
    path = here if os.path.exists(here) else shutil.which(name)
    assert path, "%s is not installed: run the tests with `make test`" % name
    return path


def firmware_modules():
    out = []
    for base, _, files in os.walk(FIRMWARE):
        out += [os.path.join(base, f) for f in sorted(files) if f.endswith(".py")]
    return sorted(out)

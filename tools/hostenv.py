"""Where things are on the host: the repository, the tools installed in the
virtualenv beside this Python, and the heap a virtual board gets."""
import os
import shutil
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIRMWARE = os.path.join(ROOT, "firmware")
SHIM = os.path.join(ROOT, "host_tests", "shim")
# The 64-bit unix port's objects take about twice the bytes they take on a
# 32-bit board, so 220 000 bytes here stand for about 110 KB on an ESP32.
HEAP = 220000


def tool(name):
    """Path of a tool beside this Python (the Makefile's venv), else on PATH,
    else the bare name."""
    here = os.path.join(os.path.dirname(sys.executable), name)
    return here if os.path.exists(here) else shutil.which(name) or name

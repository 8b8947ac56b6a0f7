"""Where the real MicroPython tools are, for tests that drive them."""
import os
import shutil
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tools"))
import hostenv  # noqa: E402
from hostenv import FIRMWARE, HEAP, ROOT  # noqa: E402,F401


def tool(name):
    """Path of an installed tool; fails the test if it is missing."""
    path = hostenv.tool(name)
    assert os.path.isabs(path) or shutil.which(path), \
        "%s is not installed: run the tests with `make test`" % name
    return path


def firmware_modules():
    out = []
    for base, _, files in os.walk(FIRMWARE):
        out += [os.path.join(base, f) for f in sorted(files) if f.endswith(".py")]
    return sorted(out)

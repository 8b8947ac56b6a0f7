"""Where the real MicroPython tools are, for tests that drive them, and the
two MicroPythons the tests run on: the 64-bit unix port from the venv and
the 32-bit one (hostenv.MP32: MICROPYTHON32=path, else CI's copy beside the
repository)."""
import os
import shutil
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "tools"))
import hostenv
from hostenv import FIRMWARE, MP32, ROOT, TEST_HEAP


def tool(name):
    """Path of an installed tool; fails the test if it is missing."""
    path = hostenv.tool(name)
    assert os.path.isabs(path) or shutil.which(path), \
        "%s is not installed: run the tests with `make test`" % name
    return path


# Parametrize a test with these to run it on both word sizes; where the
# 32-bit build is missing its run is reported as skipped, never as passed.
BOTH = [pytest.param(hostenv.tool("micropython"), id="mp64"),
        pytest.param(MP32, id="mp32", marks=pytest.mark.skipif(
            not os.path.exists(MP32),
            reason="the 32-bit run was not possible: %s is missing (%s; MICROPYTHON32=path "
            "names one)" % (MP32, hostenv.HOW_MP32)))]


def run_micropython(interp, args, heap_bytes=TEST_HEAP, timeout=600):
    """interp running a test script from the repository root: a test
    process, not a node, so TEST_HEAP by default."""
    return subprocess.run(hostenv.command(interp, heap_bytes) + args, cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)


def firmware_modules():
    out = []
    for base, _, files in os.walk(FIRMWARE):
        out += [os.path.join(base, f) for f in sorted(files) if f.endswith(".py")]
    return sorted(out)

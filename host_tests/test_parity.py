"""Byte-for-byte parity: the same seeded histories give the same state
hashes, snapshots and frames on CPython, the 64-bit and the 32-bit
MicroPython (``parity.py`` prints them; the RV32 board runs it too, in
``test_rv32.py``)."""
import subprocess
import sys

import pytest
from interp import BOTH, ROOT, TEST_HEAP, run_micropython


def cpython_output():
    r = subprocess.run([sys.executable, "host_tests/parity.py"], cwd=ROOT, capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_parity_output_covers_the_extremes():
    out = cpython_output()
    assert out.count("snapshot ") >= 13 and out.count("frame ") >= 5
    assert "equal True" in out
    # the largest row allowed, summed over both counters of the extremes
    assert "totals 13835058078904483841 13835058078904483841" in out


@pytest.mark.parametrize("interp", BOTH)
def test_micropython_prints_the_same_bytes_as_cpython(interp):
    r = run_micropython(interp, ["host_tests/parity.py"], heap_bytes=TEST_HEAP)
    assert r.returncode == 0, r.stdout + r.stderr
    expected = cpython_output().splitlines()
    got = r.stdout.splitlines()
    assert len(got) == len(expected)
    for i, (g, e) in enumerate(zip(got, expected)):
        assert g == e, "line %d differs:\n  %s\n  %s" % (i + 1, g[:160], e[:160])

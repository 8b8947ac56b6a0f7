"""The receive, hash and merge paths allocate nothing, on both word sizes:
``alloc_checks`` measured under the real MicroPythons (CPython has no
``gc.mem_alloc``, so these checks exist only there)."""
import alloc_checks
import pytest
from interp import BOTH, TEST_HEAP, run_micropython

COUNT = sum(1 for name in dir(alloc_checks) if name.startswith("test_"))


@pytest.mark.parametrize("interp", BOTH)
def test_hot_paths_allocate_nothing(interp):
    r = run_micropython(interp, ["host_tests/mprun.py", "alloc_checks"], heap_bytes=TEST_HEAP)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    assert "%d passed, 0 failed" % COUNT in out, out

"""The same tests under the real MicroPythons, 64-bit and 32-bit, the same
hashes as on CPython, and firmware that compiles for the ESP32 targets."""
import subprocess

import pytest
from interp import BOTH, firmware_modules, run_micropython, tool

# Test modules that need nothing but the firmware and host_tests helpers.
SHARED = ["test_fnv", "test_vclock", "test_state", "test_laws", "test_hash",
          "test_claims", "test_wire", "test_gossip", "test_capacity", "test_config",
          "test_store", "test_status", "test_node_refusals", "test_replay"]


def count_tests(mod_names):
    return sum(1 for m in mod_names for n in dir(__import__(m)) if n.startswith("test_"))


@pytest.mark.parametrize("interp", BOTH)
def test_shared_modules_pass_under_micropython(interp):
    r = run_micropython(interp, ["host_tests/mprun.py"] + SHARED)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    # Every test function ran there: none skipped, none silently missing.
    assert "%d passed, 0 failed" % count_tests(SHARED) in out, out


HASH_SCRIPT = """
import sys
sys.path[:0] = ["firmware", "host_tests"]
from check import Rng
from histories import replicas
for seed in range(6):
    print(" ".join("%08x" % r.state_hash() for r in replicas(Rng(seed))))
"""


@pytest.mark.parametrize("interp", BOTH)
def test_same_histories_hash_the_same_as_on_cpython(interp):
    r = run_micropython(interp, ["-c", HASH_SCRIPT])
    assert r.returncode == 0, r.stderr
    from check import Rng
    from histories import replicas
    expected = "".join(" ".join("%08x" % x.state_hash() for x in replicas(Rng(seed))) + "\n"
                       for seed in range(6))
    assert r.stdout == expected


@pytest.mark.parametrize("arch", ["xtensawin", "rv32imc"])
def test_firmware_compiles_for_esp32(arch, tmp_path):
    mods = firmware_modules()
    assert len(mods) >= 6
    for path in mods:
        r = subprocess.run([tool("mpy-cross"), "-march=" + arch, "-o", str(tmp_path / "out.mpy"),
                            path], capture_output=True, text=True)
        assert r.returncode == 0, "%s: %s" % (path, r.stderr)

"""The firmware type-checks against MicroPython's ESP32 API
(micropython-esp32-stubs, with pyright): a call, attribute or module that
does not exist on the board fails here, on the host."""
import os
import re
import shutil
import subprocess

from interp import ROOT, tool

STUBS = os.path.join(ROOT, ".venv", "esp32-stubs")


def pyright(project):
    r = subprocess.run([tool("pyright"), "-p", project], capture_output=True, text=True,
                       timeout=600)
    return r.returncode, r.stdout + r.stderr


def test_firmware_uses_only_the_esp32_api():
    assert os.path.isdir(STUBS), "stubs missing: run the tests with `make test`"
    rc, out = pyright(ROOT)
    assert rc == 0 and re.search(r"^0 errors", out, re.M), out


def test_the_check_catches_a_call_the_board_lacks(tmp_path):
    shutil.copytree(os.path.join(ROOT, "firmware"), tmp_path / "firmware")
    shutil.copy(os.path.join(ROOT, "pyrightconfig.json"), tmp_path)
    os.symlink(os.path.join(ROOT, ".venv"), tmp_path / ".venv")
    bad = tmp_path / "firmware" / "ccrdt" / "transport" / "espnow.py"
    bad.write_text(bad.read_text().replace("        e.active(True)\n",
                                           "        e.active(True)\n        sta.scan_fast()\n", 1))
    rc, out = pyright(str(tmp_path))
    assert rc != 0 and 'Cannot access attribute "scan_fast"' in out, out

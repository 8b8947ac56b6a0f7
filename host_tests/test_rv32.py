"""The core, wire and gossip test modules on the emulated RV32 board
(tools/rv32board.py): rv32imc, a 140 032-byte heap, the firmware's
`mpy-cross -march=rv32imc` files loaded over mpremote mount."""
import interp  # noqa: F401  (puts tools/ on the path)
import pytest
import rv32board
from test_interpreters import count_tests


def test_shared_modules_pass_on_the_rv32_board(tmp_path):
    why = rv32board.available()
    if why:
        pytest.skip(why)
    # About 20 s here; the bound stops a hung board well inside 3 minutes.
    passed, failed, out = rv32board.run_tests(timeout=170, out=str(tmp_path / "rv32"))
    assert (passed, failed) == (count_tests(rv32board.MODULES), 0), out


def test_the_board_prints_the_same_bytes_as_cpython(tmp_path):
    why = rv32board.available()
    if why:
        pytest.skip(why)
    from test_parity import cpython_output
    assert rv32board.run_parity(out=str(tmp_path / "rv32")) == cpython_output().splitlines()

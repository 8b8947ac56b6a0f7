"""ccrdt: replicated constraint state for ESP32 fleets (MicroPython).

Same source on ESP32, the MicroPython unix port and CPython (through
``ccrdt.compat``).
"""
from ccrdt import compat  # noqa: F401  (installs the CPython shim first)

__version__ = "0.2.0"


class CapacityError(Exception):
    """A fixed-size table (nodes, constraints, a slice) has no room left."""

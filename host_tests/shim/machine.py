"""Host stand-in for the bits of machine the firmware touches: Pin for the
status LED, and reset(), which on a virtual board ends the process so that
its supervisor (tools/vboard.py) starts it again."""
import sys


class Pin:
    OUT = 1
    IN = 0

    def __init__(self, pin, mode=IN):
        if not 0 <= pin <= 48:
            raise ValueError("invalid pin")
        self._v = 0

    def value(self, *v):
        if v:
            self._v = 1 if v[0] else 0
        return self._v


def reset():
    sys.exit(0)


def unique_id():
    import network
    return network.WLAN(network.STA_IF).config("mac")

"""Host stand-in for MicroPython's network module: the WLAN interface that
ESP-NOW needs (active, channel, MAC); it never connects to an access point."""
import os

STA_IF = 0
AP_IF = 1


def _mac_from_env():
    text = os.getenv("CCRDT_MAC") or "02000000%04x" % (os.getpid() & 0xFFFF)
    return bytes(int(text[i:i + 2], 16) for i in range(0, 12, 2))


class WLAN:
    IF_STA = STA_IF
    IF_AP = AP_IF
    _state = {}  # one radio per interface, as on the chip

    def __init__(self, interface=STA_IF):
        self._s = WLAN._state.setdefault(interface, {"active": False, "channel": 1,
                                                     "mac": _mac_from_env()})

    def active(self, *flag):
        if flag:
            self._s["active"] = bool(flag[0])
        return self._s["active"]

    def isconnected(self):
        return False

    def disconnect(self):
        pass

    def config(self, *names, **values):
        for k, v in values.items():
            if k != "channel":
                raise ValueError("unknown config param")
            if not 1 <= v <= 14:
                raise ValueError("invalid channel")
            self._s["channel"] = v
        if names:
            if names[0] not in ("mac", "channel"):
                raise ValueError("unknown config param")
            return self._s[names[0]]

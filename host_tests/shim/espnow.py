"""Host stand-in for MicroPython's espnow module (ESP32 API), carried over
UDP to the air hub (tools/netsim.py) named by $CCRDT_AIR."""
import os
import socket

MAX_DATA_LEN = 250
KEY_LEN = 16
MAX_TOTAL_PEER_NUM = 20
MAX_ENCRYPT_PEER_NUM = 6
_BROADCAST = b"\xff" * 6

# Error numbers and names as the ESP-IDF defines them (ESP_ERR_ESPNOW_BASE).
_ERR = {"NOT_INIT": 12389, "ARG": 12390, "NO_MEM": 12391, "FULL": 12392,
        "NOT_FOUND": 12393, "INTERNAL": 12394, "EXIST": 12395, "IF": 12396}


def _error(name):
    return OSError(_ERR[name], "ESP_ERR_ESPNOW_" + name)


def _mac(mac):
    if not isinstance(mac, (bytes, bytearray)) or len(mac) != 6:
        raise ValueError("invalid peer MAC address")
    return bytes(mac)


class ESPNow:
    def __init__(self):
        self._active = False
        self._peers = []
        self.peers = {}  # peer device table: {mac: [rssi, time_ms]}
        self._sock = None
        # The board's driver sends and receives outside the MicroPython heap:
        # frames are put together and read in these buffers, not in new
        # bytes objects (a 32-bit node's fragmented heap may not have ~260
        # bytes in one piece; a board never needs them).
        self._out = bytearray(1 + 1 + 6 + 6 + MAX_DATA_LEN)  # 'D', channel, from, to, msg
        # From the hub, each datagram this size (tools/netsim.py air_frame):
        # 'D', the message's length, the sender's MAC, the message padded.
        self._buf = bytearray(2 + 6 + MAX_DATA_LEN)
        self._view = memoryview(self._buf)
        self._data = [None, None]  # (mac, msg), reused like the board's irecv()

    def _wlan(self):
        import network
        return network.WLAN(network.STA_IF)

    def active(self, *flag):
        if flag:
            if flag[0] and not self._active:
                air = os.getenv("CCRDT_AIR")
                if not air:
                    raise _error("INTERNAL")
                host, port = air.split(":")
                self._hub = socket.getaddrinfo(host, int(port))[0][-1]
                self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                self._sock.bind(socket.getaddrinfo("127.0.0.1", 0)[0][-1])
                self._active = True
                self._hello()
            elif not flag[0] and self._active:
                self._sock.close()
                self._active = False
        return self._active

    def _hello(self):
        w = self._wlan()
        self._sock.sendto(b"H" + bytes([w.config("channel")]) + w.config("mac"), self._hub)

    def add_peer(self, mac, *args, **kw):
        if not self._active:
            raise _error("NOT_INIT")
        mac = _mac(mac)
        if mac in self._peers:
            raise _error("EXIST")
        if len(self._peers) >= MAX_TOTAL_PEER_NUM:
            raise _error("FULL")
        self._peers.append(mac)

    def del_peer(self, mac):
        if not self._active:
            raise _error("NOT_INIT")
        mac = _mac(mac)
        if mac not in self._peers:
            raise _error("NOT_FOUND")
        self._peers.remove(mac)

    def get_peers(self):
        return tuple((m, b"", 0, 0, False) for m in self._peers)

    def peer_count(self):
        return (len(self._peers), 0)

    def send(self, mac, msg=None, sync=True):
        if msg is None:
            mac, msg = None, mac
        if not self._active:
            raise _error("NOT_INIT")
        if not self._wlan().active():
            raise _error("IF")
        if len(msg) > MAX_DATA_LEN:
            raise ValueError("msg too long")
        targets = [m for m in self._peers if m != _BROADCAST] if mac is None else [_mac(mac)]
        out, n = self._out, 14 + len(msg)
        for m in targets:
            if m not in self._peers:
                raise _error("NOT_FOUND")
            w = self._wlan()
            out[0], out[1] = ord("D"), w.config("channel")
            out[2:8] = w.config("mac")
            out[8:14] = m
            out[14:n] = msg
            self._sock.sendto(memoryview(out)[:n], self._hub)
        return True

    def _take(self):
        """Read one datagram from the hub into (mac, msg), or None."""
        buf = self._buf
        if _read(self._sock, buf) != len(buf) or buf[0] != ord("D") or buf[1] > MAX_DATA_LEN:
            return None
        mac = bytes(buf[2:8])
        self.peers[mac] = [-40, 0]
        self._data[0] = mac
        self._data[1] = self._view[8:8 + buf[1]]  # the message, in the reused buffer
        return self._data

    def irecv(self, timeout=None):
        import select
        if not self._active:
            raise _error("NOT_INIT")
        p = select.poll()
        p.register(self._sock, select.POLLIN)
        if not p.poll(300000 if timeout is None else timeout):
            return (None, None)
        got = self._take()
        return got if got is not None else (None, None)

    def recv(self, timeout=None):
        mac, msg = self.irecv(timeout)
        return (mac, bytes(msg)) if mac is not None else (None, None)


def _read(sock, buf):
    """One datagram from the hub into buf (they are all len(buf) bytes)."""
    if hasattr(sock, "readinto"):  # MicroPython: reads until buf is full
        return sock.readinto(buf)
    return sock.recv_into(buf)  # CPython

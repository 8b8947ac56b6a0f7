"""UDP transport: frames over IP, non-blocking under asyncio.

Works on ESP32 (over Wi-Fi), the MicroPython unix port and CPython.  On a
LAN a fleet needs no peer list: with ``broadcast`` set (the subnet's
broadcast address, e.g. "192.168.1.255:4210") a board broadcasts its own
changes and its presence there, as on ESP-NOW, and learns its peers from
the authenticated frames it receives (``heard``).  Configured peers are for
routed networks, where broadcasts do not pass.  An answer goes back to the
address the frame came from: a node's tag changes with its incarnation,
its address does not.

Receiving uses recvfrom(): the source address is what a peer is learned
and answered by, and MicroPython's sockets have no recvfrom_into, while
readinto() would read the datagram without it.
"""
import socket

from micropython import const

from ccrdt import raw
from ccrdt.compat import IS_MICROPYTHON, readable
from ccrdt.transport import Peers

_LEARNED_MAX = const(16)  # peers learned from frames; the least recently heard makes room


def resolve(host, port):
    return socket.getaddrinfo(host, port)[0][-1]


class UdpTransport:
    kind = "udp"

    def __init__(self, port, peers=(), broadcast=None, monitor=None, bind="0.0.0.0",
                 receives=True):
        """peers: [(node name, (host, port))] (the names are for people);
        broadcast, monitor: (host, port) or None; port 0: any free port;
        receives=False: a socket that only sends STATUS frames (no receive
        task, no buffer for it)."""
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if broadcast is not None and hasattr(socket, "SO_BROADCAST"):
            s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
        s.bind(resolve(bind, port))
        s.setblocking(False)
        self.sock = s
        self.peers = Peers([resolve(h, p) for _, (h, p) in peers], _LEARNED_MAX)
        self.bcast = None if broadcast is None else resolve(*broadcast)
        self.broadcasts = self.bcast is not None
        self.receives = receives
        self.monitor = None if monitor is None else resolve(*monitor)
        self.sent = self.send_errors = 0
        self.last_addr = None  # source of the datagram recv_into read last

    async def recv_into(self, buf):
        """Wait for one datagram, copy it into buf; returns its length
        (len(buf) + 1 bytes are read, so an oversized one shows)."""
        if IS_MICROPYTHON:
            # asyncio.Stream.readinto would loop until buf is full and glue
            # datagrams together: recvfrom() one datagram (a short-lived
            # bytes object and address per frame).
            await readable(self.sock)  # pyright: ignore[reportGeneralTypeIssues]
            data, self.last_addr = self.sock.recvfrom(len(buf) + 1)
            n = min(len(data), len(buf))
            raw.copy(buf, 0, data, 0, n)
            return len(data)
        import asyncio  # CPython from here on
        loop = asyncio.get_running_loop()  # pyright: ignore[reportAttributeAccessIssue]
        n, self.last_addr = await loop.sock_recvfrom_into(self.sock, buf)
        return n

    def sender(self, into):
        return self.last_addr

    def send(self, addr, buf, n):
        try:
            self.sock.sendto(memoryview(buf)[:n], addr)
            self.sent += 1
            return True
        except OSError:  # a full buffer or an unreachable peer: counted, not fatal
            self.send_errors += 1
            return False

    def broadcast(self, buf, n):
        return self.bcast is not None and self.send(self.bcast, buf, n)

    def status(self, buf, n):
        return self.monitor is not None and self.send(self.monitor, buf, n)

    def peer_count(self):
        return len(self.peers.addrs)

    def send_to_peer(self, i, buf, n):
        ok = self.send(self.peers.addrs[i], buf, n)
        self.peers.pinged(i)
        return ok

    def peer_tag(self, i):
        return self.peers.tags[i]

    def heard(self, addr, tag, sure=True):
        """Note a board heard from, so that anti-entropy can ping it."""
        self.peers.heard(addr, tag, sure)

    def close(self):
        self.sock.close()

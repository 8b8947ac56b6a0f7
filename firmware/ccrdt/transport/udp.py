"""UDP transport: frames to the configured peers, non-blocking under asyncio.

Works on ESP32 (over Wi-Fi), the MicroPython unix port and CPython.  A peer
is known by its node tag, so an answer goes to the address configured for
the node named in the frame's header.
"""
import socket

from ccrdt.compat import IS_MICROPYTHON
from ccrdt.fnv import tag30


def resolve(host, port):
    return socket.getaddrinfo(host, port)[0][-1]


class UdpTransport:
    def __init__(self, port, peers, bind="0.0.0.0"):
        """peers: [(node name, (host, port))]."""
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(resolve(bind, port))
        s.setblocking(False)
        self.sock = s
        self.tags = [tag30(name) for name, _ in peers]
        self.addrs = [resolve(h, p) for _, (h, p) in peers]
        self.sent = self.send_errors = 0
        if IS_MICROPYTHON:
            import asyncio
            self._reader = asyncio.StreamReader(s)

    async def recv_into(self, buf):
        """Wait for one datagram; returns its length."""
        if IS_MICROPYTHON:
            return await self._reader.readinto(buf)
        import asyncio
        return await asyncio.get_running_loop().sock_recv_into(self.sock, buf)

    def send(self, addr, buf, n):
        try:
            self.sock.sendto(memoryview(buf)[:n], addr)
            self.sent += 1
            return True
        except OSError:  # a full buffer or an unreachable peer: counted, not fatal
            self.send_errors += 1
            return False

    def peer_count(self):
        return len(self.addrs)

    def send_to_peer(self, i, buf, n):
        return self.send(self.addrs[i], buf, n)

    def send_to_tag(self, tag, buf, n):
        """Send to the node with this tag; False if it is not a configured peer."""
        for i in range(len(self.tags)):
            if self.tags[i] == tag:
                return self.send(self.addrs[i], buf, n)
        return False

    def close(self):
        self.sock.close()

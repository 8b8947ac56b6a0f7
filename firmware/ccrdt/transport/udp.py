"""UDP transport: frames to the configured peers, non-blocking under asyncio.

Works on ESP32 (over Wi-Fi), the MicroPython unix port and CPython.  A peer
is known by its node tag, so an answer goes to the address configured for
the node named in the frame's header.
"""
import socket

from ccrdt import raw
from ccrdt.compat import IS_MICROPYTHON
from ccrdt.fnv import tag30


def _readable(sock):
    """Wait until sock is readable: the same wait asyncio.Stream uses
    (MicroPython's asyncio awaits a generator; its core is not in the stubs)."""
    import asyncio
    yield asyncio.core._io_queue.queue_read(sock)  # pyright: ignore[reportAttributeAccessIssue]


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

    async def recv_into(self, buf):
        """Wait for one datagram, copy it into buf; returns its length
        (len(buf) + 1 bytes are read, so an oversized one shows)."""
        if IS_MICROPYTHON:
            # asyncio.Stream.readinto would loop until buf is full and glue
            # datagrams together; sockets have no recv_into here, so recv()
            # one datagram (one short-lived bytes object per frame).
            await _readable(self.sock)  # pyright: ignore[reportGeneralTypeIssues]
            data = self.sock.recv(len(buf) + 1)
            n = min(len(data), len(buf))
            raw.copy(buf, 0, data, 0, n)
            return len(data)
        import asyncio  # CPython from here on
        loop = asyncio.get_running_loop()  # pyright: ignore[reportAttributeAccessIssue]
        return await loop.sock_recv_into(self.sock, buf)

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

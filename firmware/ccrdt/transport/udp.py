"""UDP transport: frames to the configured peers, non-blocking under asyncio.

Works on ESP32 (over Wi-Fi), the MicroPython unix port and CPython.  An
answer goes back to the address the frame came from (``last_addr``): a
node's tag changes with its incarnation, its address does not.
"""
import socket

from ccrdt import raw
from ccrdt.compat import IS_MICROPYTHON


def _readable(sock):
    """Wait until sock is readable: the same wait asyncio.Stream uses
    (MicroPython's asyncio awaits a generator; its core is not in the stubs)."""
    import asyncio
    yield asyncio.core._io_queue.queue_read(sock)  # pyright: ignore[reportAttributeAccessIssue]


def resolve(host, port):
    return socket.getaddrinfo(host, port)[0][-1]


class UdpTransport:
    def __init__(self, port, peers, bind="0.0.0.0"):
        """peers: [(node name, (host, port))] (the names are for people)."""
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(resolve(bind, port))
        s.setblocking(False)
        self.sock = s
        self.addrs = [resolve(h, p) for _, (h, p) in peers]
        self.sent = self.send_errors = 0
        self.last_addr = None  # source of the datagram recv_into read last

    async def recv_into(self, buf):
        """Wait for one datagram, copy it into buf; returns its length
        (len(buf) + 1 bytes are read, so an oversized one shows)."""
        if IS_MICROPYTHON:
            # asyncio.Stream.readinto would loop until buf is full and glue
            # datagrams together; sockets have no recv_into here, so
            # recvfrom() one datagram (a short-lived bytes object and
            # address per frame).
            await _readable(self.sock)  # pyright: ignore[reportGeneralTypeIssues]
            data, self.last_addr = self.sock.recvfrom(len(buf) + 1)
            n = min(len(data), len(buf))
            raw.copy(buf, 0, data, 0, n)
            return len(data)
        import asyncio  # CPython from here on
        loop = asyncio.get_running_loop()  # pyright: ignore[reportAttributeAccessIssue]
        n, self.last_addr = await loop.sock_recvfrom_into(self.sock, buf)
        return n

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

    def close(self):
        self.sock.close()

"""An in-memory medium for node tests: the transport edge of ``ccrdt.node``
(see ``ccrdt.transport``) without sockets or radios, delivered by hand.

    air = Medium()
    a = Node(cfg, store, [air.port("a")], ...)
    air.attach(a)          # frames for a go to a.process(...)
    a.ping_peer(); air.settle()

A broadcast reaches every other port of the medium, as on one radio
channel or LAN segment; peers are learned from authentic frames, as the
real transports learn them.  Frames are copied when sent, so a sender may
reuse its buffer at once.
"""
from ccrdt.transport import Peers


class Medium:
    def __init__(self):
        self.ports = {}  # address -> MemTransport
        self.queue = []  # (destination, source, frame)
        self.frames = self.bytes = 0
        self.cut = set()  # addresses whose frames are lost, both ways

    def port(self, addr, broadcasts=True):
        t = MemTransport(self, addr, broadcasts)
        self.ports[addr] = t
        return t

    def attach(self, node):
        """Deliver this medium's frames for node into node.process()."""
        for i, t in enumerate(node.transports):
            if isinstance(t, MemTransport) and t.medium is self:
                t.node, t.index = node, i

    def carry(self, dst, src, frame):
        """One copy of frame on its way from src to dst (lost if either is cut off)."""
        if dst in self.ports and dst not in self.cut and src not in self.cut:
            self.queue.append((dst, src, frame))

    def transmit(self, n):
        """Count one transmission of n bytes (a broadcast is one)."""
        self.frames += 1
        self.bytes += n

    def settle(self, limit=100000):
        """Deliver until no frame is in flight; returns how many arrived."""
        k = 0
        while self.queue:
            dst, src, frame = self.queue.pop(0)
            t = self.ports[dst]
            t.node.process(bytearray(frame), len(frame), t.index, src)
            k += 1
            if k > limit:
                raise RuntimeError("the medium did not settle in %d frames" % limit)
        return k


class MemTransport:
    kind = "test"
    receives = True

    def __init__(self, medium, addr, broadcasts):
        self.medium, self.addr, self.broadcasts = medium, addr, broadcasts
        self.peers = Peers((), 16)
        self.sent = self.send_errors = 0
        self.node, self.index = None, 0
        self.statuses = []  # STATUS frames sent, for tests to read

    async def recv_into(self, buf):
        """Frames arrive through Medium.settle(), never here."""
        import asyncio
        await asyncio.Event().wait()

    def sender(self, into):
        return None

    def send(self, addr, buf, n):
        self.sent += 1
        self.medium.transmit(n)
        self.medium.carry(addr, self.addr, bytes(buf[:n]))
        return True

    def broadcast(self, buf, n):
        self.sent += 1
        self.medium.transmit(n)
        frame = bytes(buf[:n])
        for addr in self.medium.ports:
            if addr != self.addr:
                self.medium.carry(addr, self.addr, frame)
        return True

    def status(self, buf, n):
        self.statuses.append(bytes(buf[:n]))
        return True

    def peer_count(self):
        return len(self.peers.addrs)

    def send_to_peer(self, i, buf, n):
        ok = self.send(self.peers.addrs[i], buf, n)
        self.peers.pinged(i)
        return ok

    def peer_tag(self, i):
        return self.peers.tags[i]

    def heard(self, addr, tag, sure=True):
        self.peers.heard(addr, tag, sure)

    def close(self):
        self.medium.ports.pop(self.addr, None)

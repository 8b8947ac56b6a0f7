"""Loopback stand-ins for the network between virtual boards.

Faults   loss, duplication, reordering and a partition, decided per delivery
Relay    stands in front of one node's UDP port and forwards with faults
Segment  a LAN segment's broadcast address: a frame sent to it reaches every
         node on the segment, each copy through the faults
AirHub   the ESP-NOW "air" for host_tests/shim/espnow.py radios: unicast to
         a MAC or broadcast to every radio on the same channel, with faults;
         a broadcast is one transmission however many radios hear it
"""
import asyncio
import random
import socket
import time

BROADCAST = b"\xff" * 6


def free_ports(n):
    """n UDP ports on loopback that were free a moment ago."""
    socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


class Faults:
    def __init__(self, seed, loss=0.0, dup=0.0, reorder_ms=0, partition=None):
        self.rng = random.Random(seed)
        self.loss, self.dup, self.reorder_ms = loss, dup, reorder_ms
        self.partition = partition  # (start s, end s, set of node indexes in half A)
        self.frames = self.bytes = self.dropped = 0
        self.t0 = time.monotonic()

    def on_air(self, size):
        """Count one transmission."""
        self.frames += 1
        self.bytes += size

    def cut(self, src, dst):
        p, t = self.partition, time.monotonic() - self.t0
        return p is not None and p[0] <= t < p[1] and (src in p[2]) != (dst in p[2])

    def deliveries(self, src, dst):
        """Delays in seconds of the copies that reach dst (empty: lost)."""
        if self.cut(src, dst) or self.rng.random() < self.loss:
            self.dropped += 1
            return []
        copies = 2 if self.rng.random() < self.dup else 1
        return [self.rng.random() * self.reorder_ms / 1000 for _ in range(copies)]


class Outsider:
    """Someone in range of every board, without the key: it records frames
    on the air and, for a share ``rate`` of the frames it hears, sends one of
    its recordings again (an older one as often as a recent one) to a board
    picked at random, from a source of its own (a spoofed address or MAC)."""

    def __init__(self, seed, rate, keep=512):
        self.rng = random.Random(seed)
        self.rate, self.keep = rate, keep
        self.recorded = []
        self.sent = 0

    def hear(self, data):
        """A frame on the air; returns a recording to send again, or None."""
        if len(self.recorded) < self.keep:
            self.recorded.append(data)
        else:
            self.recorded[self.rng.randrange(self.keep)] = data
        if self.rng.random() >= self.rate:
            return None
        self.sent += 1
        return self.rng.choice(self.recorded)


class _Forwarder(asyncio.DatagramProtocol):
    def connection_made(self, transport):
        self.transport = transport

    def deliver(self, data, addr, delays):
        for delay in delays:
            if delay:
                asyncio.get_running_loop().call_later(delay, self.forward, data, addr)
            else:
                self.forward(data, addr)

    def forward(self, data, addr):
        if not self.transport.is_closing():  # a late copy after the run ended
            self.transport.sendto(data, addr)

    def error_received(self, exc):
        pass  # a board that is down: its frames are lost, as on a radio


class Relay(_Forwarder):
    """Forwards what peers send to node dst (at dst_addr); port_node maps a
    sender's UDP port to its node index.  A frame from node src leaves
    through src's own relay (relays[src]), so dst sees it come from the
    address at which src is reached, and an answer sent back to that
    address goes to src, through the same faults, as on a real network."""

    def __init__(self, faults, dst, dst_addr, port_node, relays, outsider=None):
        self.faults, self.dst, self.dst_addr, self.port_node = faults, dst, dst_addr, port_node
        self.relays = relays
        self.outsider = outsider  # (Outsider, its own socket, the nodes' addresses) or None

    def datagram_received(self, data, addr):
        self.faults.on_air(len(data))
        src = self.port_node.get(addr[1], -1)
        via = self.relays[src] if src >= 0 else self
        via.deliver(data, self.dst_addr, self.faults.deliveries(src, self.dst))
        replay(self.outsider, data)


def replay(outsider, data):
    """Let the outsider (if any) hear data, and send a recording again."""
    if outsider is None:
        return
    who, sock, addrs = outsider
    again = who.hear(data)
    if again is not None:
        sock.sendto(again, who.rng.choice(addrs))


class Segment(asyncio.DatagramProtocol):
    """The broadcast address of a LAN segment of nodes behind relays: a
    frame node src sends here is delivered to every other node of the
    segment through src's relay (so each sees it come from src's address,
    as a broadcast does on a LAN).  One transmission, however many hear it."""

    def __init__(self, faults, node_addrs, port_node, relays, outsider=None):
        self.faults, self.node_addrs, self.port_node = faults, node_addrs, port_node
        self.relays = relays
        self.outsider = outsider

    def datagram_received(self, data, addr):
        self.faults.on_air(len(data))
        src = self.port_node.get(addr[1], -1)
        if src < 0:
            return  # not a node of this segment
        for dst, dst_addr in enumerate(self.node_addrs):
            if dst != src:
                self.relays[src].deliver(data, dst_addr, self.faults.deliveries(src, dst))
        replay(self.outsider, data)


# What a radio receives from the hub: b"D", the payload's length, src, the
# payload padded to 250 bytes.  One size for every datagram, so that the
# stand-in reads each into one buffer (a MicroPython socket's readinto()
# reads until its buffer is full) instead of a new bytes object per frame.
AIR_DATA = 250


def air_frame(src, payload):
    return b"D" + bytes([len(payload)]) + src + payload + bytes(AIR_DATA - len(payload))


class AirHub(_Forwarder):
    """Radios say b"H" channel mac to join, b"D" channel src dst payload to
    send; they receive air_frame(src, payload).  mac_node maps a MAC to a
    node index (for partitions)."""

    SPOOFED = b"\x02\xee\xee\xee\xee\xee"  # the outsider's radio

    def __init__(self, faults, mac_node=None, outsider=None):
        self.faults = faults
        self.mac_node = mac_node or {}
        self.outsider = outsider  # an Outsider, or None
        self.radios = {}  # mac -> (addr, channel)

    def datagram_received(self, data, addr):
        if len(data) < 8 or data[:1] not in (b"H", b"D"):
            return
        ch, src = data[1], bytes(data[2:8])
        self.radios[src] = (addr, ch)
        if data[:1] == b"H" or len(data) < 14:
            return
        dst, payload = bytes(data[8:14]), data[14:14 + AIR_DATA]
        self.faults.on_air(len(payload))
        out = air_frame(src, payload)
        if dst == BROADCAST:
            targets = [m for m, (_, c) in self.radios.items() if c == ch and m != src]
        else:
            targets = [dst] if dst in self.radios and self.radios[dst][1] == ch else []
        s = self.mac_node.get(src, -1)
        for m in targets:
            self.deliver(out, self.radios[m][0],
                         self.faults.deliveries(s, self.mac_node.get(m, -1)))
        again = self.outsider.hear(payload) if self.outsider is not None else None
        if again is not None:
            on_channel = [a for m, (a, c) in self.radios.items() if c == ch]
            self.forward(air_frame(self.SPOOFED, again), self.outsider.rng.choice(on_channel))


def main(argv=None):
    """python tools/netsim.py air --port P [--loss L]: run an ESP-NOW air hub."""
    import argparse
    ap = argparse.ArgumentParser(description="ESP-NOW air hub for virtual boards.")
    ap.add_argument("what", choices=["air"])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--loss", type=float, default=0.0)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args(argv)

    async def serve():
        hub = AirHub(Faults(a.seed, a.loss))
        await asyncio.get_running_loop().create_datagram_endpoint(
            lambda: hub, local_addr=("127.0.0.1", a.port))
        print("air hub on 127.0.0.1:%d (loss %.2f); Ctrl-C stops it" % (a.port, a.loss),
              flush=True)
        while True:
            await asyncio.sleep(3600)
    try:
        asyncio.run(serve())
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()

"""GossipNodes driven by hand, frame by frame: for tests, the simulator and
the benchmarks.  A board does not need this (``ccrdt.node`` drives its
GossipNode from its transports), so it lives on the host side.

    ping(a)            a's PING as bytes
    receive(b, frame)  b handles frame: a Result with its answers as bytes
    exchange(a, b)     a pings b, both answer until neither has more to send
"""
from ccrdt.gossip import CHANGED, CONVERGED
from ccrdt.wire import FRAME_MAX

_buf = bytearray(FRAME_MAX)


class Result:
    def __init__(self):
        self.responses = []  # the frames sent back, as bytes
        self.state_changed = False
        self.converged = False  # the sender's hash equals the receiver's


def ping(node):
    return bytes(_buf[:node.ping_into(_buf)])


def receive(node, frame):
    res = Result()

    def emit(buf, n):
        res.responses.append(bytes(buf[:n]))
    bits = node.handle(frame, len(frame), emit)
    res.state_changed = bool(bits & CHANGED)
    res.converged = bool(bits & CONVERGED)
    return res


def exchange(a, b, max_frames=10000):
    """a pings b, then both answer each other until neither has anything to
    send.  Returns True if either state changed."""
    changed = False
    queue = [(b, ping(a))]
    sent = 0
    while queue:
        to, frame = queue.pop(0)
        res = receive(to, frame)
        changed = changed or res.state_changed
        back = a if to is b else b
        for f in res.responses:
            queue.append((back, f))
        sent += 1
        if sent > max_frames:
            raise RuntimeError("exchange did not settle in %d frames" % max_frames)
    return changed

"""GossipNodes driven by hand, frame by frame: for tests, the simulator and
the benchmarks.  A board does not need this (``ccrdt.node`` drives its
GossipNode from its transports), so it lives on the host side.

    ping(a, to)        a's PING (for the board of tag to) as bytes
    receive(b, frame)  b handles frame: a Result with its answers as bytes
    exchange(a, b)     a pings b, both answer until neither has more to send
    run_exchange(a, b) the same, returning (or handing on) every frame
    introduce(a, b)    a and b hear each other once, as boards in range do
"""
from ccrdt.gossip import CHANGED, CONVERGED
from ccrdt.wire import FRAME_MAX

_buf = bytearray(FRAME_MAX)


class Result:
    def __init__(self):
        self.responses = []  # the frames sent back, as bytes
        self.state_changed = False
        self.converged = False  # the sender's hash equals the receiver's


def ping(node, to=-1):
    """node's PING (for the board of tag to, whose latest frame it echoes)."""
    return bytes(_buf[:node.ping_into(_buf, False, to)])


def introduce(a, b):
    """a and b hear a presence PING of each other, as boards in range do
    before they gossip: from then on their PINGs echo each other and their
    answers are not bounded (``ccrdt.fresh``)."""
    for x, y in ((a, b), (b, a)):
        y.handle(_buf, x.presence_into(_buf), _ignore)


def _ignore(buf, n):
    pass


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
    queue = [(b, ping(a, b.state.tag))]
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


def run_exchange(a, b, seen=None):
    """Like exchange(), but returns every frame that travelled; or, with
    seen(frame), hands each to it and keeps none (a full state's frames
    would take as much heap as a second state on a board)."""
    frames = []
    queue = [(b, ping(a, b.state.tag))]
    while queue:
        to, f = queue.pop(0)
        if seen is None:
            frames.append(f)
        else:
            seen(f)
        back = a if to is b else b
        for r in receive(to, f).responses:
            queue.append((back, r))
    return frames

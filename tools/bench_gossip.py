"""Receive path of one node: frames per second and heap allocated per frame.

    micropython -X heapsize=220000 tools/bench_gossip.py
Frames are the DELTA frames a full 32 x 64 node sends to a peer, then
received again in steady state (the peer already holds their content, the
common case in gossip), and PINGs of a converged peer (answered with ACK).
Prints `name value unit` lines.  Rates are taken with the GC on, as a node
runs; *_alloc is what handling one frame allocates, measured with the GC
disabled around the loop (host_tests/allocs.py).  A frame handled twice is a
replay, refused before it is read (``ccrdt.fresh``): each round sends the
same content again under its sender's next sequence number, and the time
that re-sealing takes alone is subtracted.  The replay rows time that
refusal: frames a node has handled, sent to it again as they were.
"""
import sys

if sys.argv[1:2] in (["-h"], ["--help"]):  # a board-side script: its docstring is its help
    print(globals().get("__doc__") or "%s: see the docstring at its top" % sys.argv[0])
    sys.exit(0)
import gc

sys.path[:0] = ["firmware", "host_tests"]
from ccrdt import wire  # noqa: E402
from ccrdt.compat import IS_MICROPYTHON, ticks_ms, ticks_diff  # noqa: E402
from ccrdt.fnv import tag30  # noqa: E402
from ccrdt.proto import REPLAYED  # noqa: E402
from ccrdt.gossip import GossipNode  # noqa: E402
from ccrdt.state import SLICES  # noqa: E402
from histories import full_node  # noqa: E402
from drive import introduce, ping, receive  # noqa: E402

KEY = bytes(range(16))


def sink(buf, n):
    pass


def report(name, node, frames, rounds, sender):
    """Frames per second and bytes allocated per frame of node.handle, the
    frames sent again by sender each round (fresh, not replays)."""
    frames = [bytearray(f) for f in frames]
    fr = sender.framer

    def reseal_all():
        for f in frames:
            fr.begin(f, wire.kind(f))
            fr.seal(f, len(f) - wire.MAC_LEN)

    def handle_all():
        reseal_all()
        for f in frames:
            node.handle(f, len(f), sink)
    handle_all()  # warm up
    gc.collect()
    t0 = ticks_ms()
    for _ in range(rounds):
        reseal_all()
    reseal_ms = ticks_diff(ticks_ms(), t0)
    t0 = ticks_ms()
    for _ in range(rounds):
        handle_all()
    ms = ticks_diff(ticks_ms(), t0) - reseal_ms
    print("%s_rate %d frames/s" % (name, rounds * len(frames) * 1000 // max(ms, 1)))
    if IS_MICROPYTHON:
        from allocfit import bytes_per_call
        print("%s_alloc %d bytes/frame" % (name, bytes_per_call(handle_all, rounds) / len(frames)))


def replays(node, frames, rounds):
    """Frames per second and bytes allocated per frame of node.handle
    refusing frames it has handled before, sent again unchanged."""
    frames = [bytearray(f) for f in frames]

    def handle_all():
        for f in frames:
            node.handle(f, len(f), sink)
    handle_all()  # the first time may be fresh; every later one is a replay
    before = node.rejected(REPLAYED)
    gc.collect()
    t0 = ticks_ms()
    for _ in range(rounds):
        handle_all()
    ms = ticks_diff(ticks_ms(), t0)
    assert node.rejected(REPLAYED) - before == rounds * len(frames)
    print("replay_rate %d frames/s" % (rounds * len(frames) * 1000 // max(ms, 1)))
    if IS_MICROPYTHON:
        from allocfit import bytes_per_call
        print("replay_alloc %d bytes/frame" % (bytes_per_call(handle_all, rounds) / len(frames)))


def main():
    a = full_node("node-00", KEY)
    empty = GossipNode("empty", KEY, max_nodes=33)
    introduce(empty, a)  # boards in range: a answers in full
    # Frames name their receiver: every node that takes these is "empty"
    # (one name, one tag), or it would refuse them unread.
    deltas = receive(a, ping(empty, a.state.tag)).responses
    print("delta_frames %d frames" % len(deltas))
    print("delta_bytes_avg %d bytes" % (sum(len(f) for f in deltas) // len(deltas)))

    # New content: every frame joins into a node that has none of it.
    gc.collect()
    t_ms = count = 0
    for _ in range(8):
        fresh = GossipNode("empty", KEY, max_nodes=33)
        t0 = ticks_ms()
        for f in deltas:
            fresh.handle(f, len(f), sink)
        t_ms += ticks_diff(ticks_ms(), t0)
        count += len(deltas)
        assert fresh.state == a.state and fresh.rejected() == 0
        del fresh
        gc.collect()
    print("delta_new_rate %d frames/s" % (count * 1000 // max(t_ms, 1)))

    peer = GossipNode("empty", KEY, max_nodes=33, max_constraints=96)
    for f in deltas:
        receive(peer, f)
    assert peer.state == a.state
    # Known content, slices differ: the peer holds one more constraint in
    # every slice, so every part is checked and joined, changing nothing.
    covered = set()
    i = 0
    while len(covered) < SLICES:
        cid = "p%d" % i
        i += 1
        if tag30(cid) % SLICES not in covered:
            covered.add(tag30(cid) % SLICES)
            peer.add_constraint(cid)
    # As the pushed-back half of an exchange: no reply asked, so this is the
    # receive path alone (an answer costs an encode, measured below).
    pushed = []
    a.send_all(lambda buf, n: pushed.append(bytes(buf[:n])))
    report("delta_join", peer, pushed, 200, a)
    t0 = ticks_ms()
    for _ in range(20):
        frames = peer.send_all(sink)
    print("encode_rate %d frames/s" % (20 * frames * 1000 // max(ticks_diff(ticks_ms(), t0), 1)))
    del peer
    gc.collect()
    # Duplicates: the receiver already equals the sender in these slices.
    b = GossipNode("empty", KEY, max_nodes=33)
    for f in deltas:
        receive(b, f)
    report("delta_dup", b, deltas, 400, a)
    report("ping", b, [ping(a)], 5000, a)
    replays(b, deltas, 400)


main()

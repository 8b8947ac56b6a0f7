"""Deterministic gossip simulator: real GossipNodes exchanging real frames
over a simulated network with loss, duplication, reordering, delay,
partitions and restarts.  Runs ccrdt and a seed-style baseline (pull only,
full state as JSON on every sync, as the Rust seed does) on identical
scenarios.

    python tools/sim.py                        # the default grid, both modes
    python tools/sim.py --nodes 32 --loss 0.3 --seeds 20
    python tools/sim.py --nodes 16 --dup 0.2 --reorder --delay 0.1 \\
        --partition 2:6 --restart 3

Every round each node pings one random peer; the exchanges of a round run
until no frame is left in flight (a delayed frame arrives in a later round).
Bytes and frames count every transmission, lost ones included: they took
air time.  A run converges when every node holds the same state (equal
content, not just equal hashes).
"""
import argparse
import json
import os
import random
import statistics
import sys

import hostenv

# drive: GossipNodes driven frame by frame (host-side helpers, beside the tests)
sys.path.insert(0, os.path.join(hostenv.ROOT, "host_tests"))

from ccrdt.gossip import GossipNode
from ccrdt.state import ConstraintState
from ccrdt.restore import decode_state
from drive import ping, receive

KEY = bytes(range(16))


class Msg:
    """What travels: a frame (ccrdt) or a seed message with its JSON size."""
    __slots__ = ("src", "dst", "body", "size", "counted")

    def __init__(self, src, dst, body, size):
        self.src, self.dst, self.body, self.size = src, dst, body, size
        self.counted = False


class CcrdtPeer:
    """A real GossipNode; frames are its bytes."""

    def __init__(self, name, max_nodes, max_constraints):
        self.node = GossipNode(name, KEY, max_nodes=max_nodes, max_constraints=max_constraints)
        self.state = self.node.state

    def ping(self):
        f = ping(self.node)
        return f, len(f)

    def receive(self, body):
        return [(f, len(f)) for f in receive(self.node, body).responses]

    def broadcast(self):
        out = []
        self.node.broadcast(lambda buf, n: out.append(bytes(buf[:n])))
        return out

    def snapshot(self):
        return self.state.encode()

    def restore(self, snap):
        self.state = decode_state(snap, self.node.node_id)
        self.node.restore(self.state)


class SeedPeer:
    """The seed's gossip: Ping{node, hash, clock}; on a different hash the
    responder sends Sync with its whole state; the pinger merges (pull only).
    Sizes are those of the seed's serde JSON; merging uses ccrdt's state."""

    def __init__(self, name, max_nodes, max_constraints):
        self.name = name
        self.state = ConstraintState(name, max_nodes=max_nodes, max_constraints=max_constraints)

    def _clock(self):
        c = self.state.clock()
        nodes = self.state.node_table
        names = dict((nodes.tags[i], nodes.name(i)) for i in range(nodes.count))
        return {"clocks": dict((names.get(t, str(t)), v) for t, v in c.entries())}

    def _json_state(self):
        s = self.state
        elements = {}
        for cid, n, dot in s.constraints.dots():
            elements.setdefault(cid, []).append([s.node_name(n), dot])
        names = s.nodes()
        sat = dict((name, s.metrics.node_satisfied(name)) for name in names)
        vio = dict((name, s.metrics.node_violations(name)) for name in names)
        p = s.position
        return {"constraints": {"elements": elements, "tombstones": {}},
                "metrics": {"satisfied": sat, "violations": vio},
                "position": {"a": p.a, "b": p.b, "norm": p.norm or 0, "timestamp": p.clock},
                "version": s.clock().total_time()}

    def _msg(self, kind, **fields):
        body = dict(node=self.name, clock=self._clock(), **fields)
        return (kind, fields), len(json.dumps({kind: body}, separators=(",", ":")))

    def ping(self):
        return self._msg("Ping", state_hash=self.state.state_hash())

    def receive(self, body):
        kind, fields = body
        if kind == "Ping":
            if fields["state_hash"] == self.state.state_hash():
                return [self._msg("Ack")]
            m = self._msg("Sync", state=self._json_state())
            return [(("Sync", {"state": self.state.copy()}), m[1])]
        if kind == "Sync":
            self.state.merge(fields["state"])
            return [self._msg("Ack")]
        return []

    def snapshot(self):
        return self.state.encode()

    def restore(self, snap):
        self.state = decode_state(snap, self.name)


MODES = {"ccrdt": CcrdtPeer, "seed": SeedPeer}


def make_fleet(mode, n, max_constraints=None):
    """n nodes, each with one constraint of its own and a counter."""
    cap_n = max(32, n)
    cap_c = max_constraints or max(64, n)
    peers = [MODES[mode]("n%02d" % i, cap_n, cap_c) for i in range(n)]
    for i, p in enumerate(peers):
        p.state.add_constraint("c-n%02d" % i)
        p.state.record_satisfied(1)
    return peers


def converged(peers):
    first = peers[0].state
    return all(p.state == first for p in peers[1:])


def run(peers, seed, loss=0.0, dup=0.0, reorder=False, delay=0.0, partition=None,
        restart=None, max_rounds=200, stop=converged, broadcast=False):
    """Run rounds until stop(peers); returns (rounds or None, frames, bytes).
    With broadcast, each round a node first broadcasts its own changes: one
    frame on air, heard by each other node unless lost on its way there."""
    rng = random.Random(seed)
    n = len(peers)
    frames = nbytes = 0
    later = []
    snaps = [p.snapshot() for p in peers] if restart is not None else None
    half = set(range(n // 2))
    for r in range(1, max_rounds + 1):
        queue, later = later, []
        split = partition is not None and partition[0] <= r < partition[1]
        for i in range(n if broadcast else 0):
            for b in peers[i].broadcast():
                frames += 1
                nbytes += len(b)
                for j in range(n):
                    if (j != i and rng.random() >= loss
                            and not (split and (i in half) != (j in half))):
                        peers[j].receive(b)
        for i in range(n):
            j = rng.randrange(n - 1)
            j += j >= i
            body, size = peers[i].ping()
            queue.append(Msg(i, j, body, size))
        while queue:
            m = queue.pop(rng.randrange(len(queue)) if reorder else 0)
            if not m.counted:
                m.counted = True
                frames += 1
                nbytes += m.size
                if rng.random() < loss or (split and (m.src in half) != (m.dst in half)):
                    continue
                if delay and rng.random() < delay:
                    later.append(m)
                    continue
            for _ in range(2 if dup and rng.random() < dup else 1):
                for body, size in peers[m.dst].receive(m.body):
                    queue.append(Msg(m.dst, m.src, body, size))
        if restart is not None:
            if r == restart:  # node 0 reboots from its last snapshot
                peers[0].restore(snaps[0])
            snaps = [p.snapshot() for p in peers]
        if not split and stop(peers):
            return r, frames, nbytes
    return None, frames, nbytes


def _cell(args):
    mode, n, loss, seed, kw = args
    return run(make_fleet(mode, n), seed, loss=loss, **kw)


def pooled(fn, work, jobs):
    """[fn(w) for w in work], in jobs worker processes when jobs > 1 (each
    run is seeded, so the results do not depend on which worker ran it)."""
    if jobs <= 1:
        return [fn(w) for w in work]
    import multiprocessing
    with multiprocessing.Pool(jobs) as pool:
        return pool.map(fn, work, chunksize=1)


def grid(modes, sizes, losses, seeds, jobs=1, **kw):
    """[(mode, n, loss, [results])] for every cell of the grid."""
    cells = [(mode, n, loss) for n in sizes for loss in losses for mode in modes]
    results = pooled(_cell, [(m, n, loss, s, kw) for m, n, loss in cells
                             for s in range(seeds)], jobs)
    return [(m, n, loss, results[i * seeds:(i + 1) * seeds])
            for i, (m, n, loss) in enumerate(cells)]


def _one_change(args):
    return one_change(*args)


def full_fleet(mode, n=32, constraints=64):
    """A converged fleet at full capacity, one constraint short: n nodes,
    constraints - 1 constraints, every node counted checks."""
    peers = [MODES[mode]("n%02d" % i, n, constraints) for i in range(n)]
    merged = peers[0].state
    for i, p in enumerate(peers):
        for j in range(constraints // n - (1 if i == 0 else 0)):
            p.state.add_constraint("c-n%02d-%d" % (i, j))
        p.state.record_satisfied(100 + i)
        if i:
            merged.merge(p.state)
    snap = merged.encode()
    for p in peers:
        p.restore(snap)
    assert converged(peers)
    return peers


def one_change(mode, seed, loss=0.0, broadcast=False):
    """Bytes and frames to carry one new constraint to a converged fleet."""
    peers = full_fleet(mode)
    if broadcast and mode == "ccrdt":
        for p in peers:  # they have broadcast what they hold already
            p.broadcast()
    peers[0].state.add_constraint("new")
    return run(peers, seed, loss=loss, broadcast=broadcast and mode == "ccrdt")


def summary(results):
    rounds = [r for r, _, _ in results if r is not None]
    done = len(rounds)
    med = lambda xs: statistics.median(xs) if xs else float("nan")  # noqa: E731
    return {
        "converged": "%d/%d" % (done, len(results)),
        "rounds_median": med(rounds), "rounds_worst": max(rounds) if rounds else None,
        "frames_median": med([f for r, f, _ in results if r is not None]),
        "bytes_median": med([b for r, _, b in results if r is not None]),
    }


def print_table(rows):
    print("| N | loss | mode | converged | median rounds | worst | median frames | median bytes |")
    print("|---|---|---|---|---|---|---|---|")
    for mode, n, loss, res in rows:
        s = summary(res)
        print("| %d | %.1f | %s | %s | %g | %s | %.0f | %.0f |" % (
            n, loss, mode, s["converged"], s["rounds_median"], s["rounds_worst"],
            s["frames_median"], s["bytes_median"]))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--nodes", type=int, nargs="+", default=[4, 8, 16, 32, 64])
    ap.add_argument("--loss", type=float, nargs="+", default=[0.0, 0.1, 0.3])
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--mode", choices=["both", "ccrdt", "seed"], default="both")
    ap.add_argument("--dup", type=float, default=0.0, help="chance a frame arrives twice")
    ap.add_argument("--reorder", action="store_true",
                    help="deliver in-flight frames in random order")
    ap.add_argument("--delay", type=float, default=0.0, help="chance a frame arrives a round late")
    ap.add_argument("--partition", default=None, help="FROM:TO rounds with the fleet cut in two")
    ap.add_argument("--restart", type=int, default=None, help="round at which node 0 reboots")
    ap.add_argument("--max-rounds", type=int, default=200)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="worker processes")
    ap.add_argument("--broadcast", action="store_true",
                    help="nodes also broadcast their own changes "
                         "(one frame on air for all, as on ESP-NOW)")
    ap.add_argument("--one-change", action="store_true",
                    help="instead: carry one new constraint through a converged 32-node fleet "
                         "at full capacity")
    a = ap.parse_args(argv)
    modes = ["ccrdt", "seed"] if a.mode == "both" else [a.mode]
    part = tuple(int(x) for x in a.partition.split(":")) if a.partition else None
    print("command: python tools/sim.py " + " ".join(sys.argv[1:] if argv is None else argv))
    if a.one_change:
        cells = [(m, loss) for loss in a.loss for m in modes]
        results = pooled(_one_change, [(m, s, loss, a.broadcast) for m, loss in cells
                                       for s in range(a.seeds)], a.jobs)
        rows = [(m, 32, loss, results[i * a.seeds:(i + 1) * a.seeds])
                for i, (m, loss) in enumerate(cells)]
    else:
        rows = grid(modes, a.nodes, a.loss, a.seeds, jobs=a.jobs, dup=a.dup, reorder=a.reorder,
                    delay=a.delay, partition=part, restart=a.restart, max_rounds=a.max_rounds,
                    broadcast=a.broadcast)
    print_table(rows)
    return 0 if all(r is not None for _, _, _, res in rows for r, _, _ in res) else 1


if __name__ == "__main__":
    sys.exit(main())

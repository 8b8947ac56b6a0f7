"""`make bench`: run every benchmark on MicroPython (unix port) and CPython
and print their figures as tables, with the command that made each."""
import os
import subprocess
import sys
import time

from hostenv import HEAP, ROOT, tool


def run(cmd):
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if r.returncode:
        sys.exit("benchmark failed: %s\n%s%s" % (" ".join(cmd), r.stdout, r.stderr))
    return dict((k, (v, u)) for k, v, u in (line.split() for line in r.stdout.splitlines()))


def table(title, commands, rows):
    print("\n## %s" % title)
    for name, cmd in commands:
        print("    %-11s %s" % (name + ":", " ".join(os.path.relpath(c, ROOT) if c.startswith(ROOT) else c
                                                  for c in cmd)))
    figures = [(name, run(cmd)) for name, cmd in commands]
    print("| figure | " + " | ".join(n for n, _ in figures) + " |")
    print("|---|" + "---|" * len(figures))
    for key in rows:
        cells = []
        for _, f in figures:
            v, unit = f.get(key, ("-", ""))
            cells.append("%s %s" % (v, unit) if v != "-" else "-")
        print("| %s | %s |" % (key, " | ".join(cells)))


def fleets():
    """Virtual fleets of real MicroPython processes (tools/fleet.py)."""
    import asyncio
    import fleet
    print("\n## Virtual fleets: real micropython processes over UDP on loopback")
    print("    python tools/fleet.py --nodes N --duration 10   (gossip every 250 ms + up to 125 ms jitter)")
    print("| nodes | settled after the last change | gossip rounds | frames | bytes | heap used per node "
          "(max) | heap free (min) | CPU per node |")
    print("|---|---|---|---|---|---|---|---|")
    for n in (8, 32):
        f = fleet.Fleet(n, 10, seed=1, log=lambda *a: None)
        s = asyncio.run(f.run())
        if not (s["converged"] and s["snapshots_equal"] and s["counts_match"]):
            sys.exit("fleet of %d did not converge cleanly: %s" % (n, s))
        print("| %d | %.1f s | %.0f | %d | %d | %d bytes | %d bytes | %.1f %% |" % (
            n, s["settle_s"], s["settle_rounds"], s["frames"], s["bytes"], s["heap_used_max"],
            s["heap_free_min"], s["cpu_percent"]))
    print("Heap used includes the firmware's modules compiled from source at boot; on a board they are")
    print("frozen into flash.")
    one_change_fleets(fleet)


def one_change_fleets(fleet):
    """Frames on air for one change in a converged 32-node virtual fleet."""
    import asyncio
    print("\n## One change through a converged 32-node virtual fleet: UDP unicast vs ESP-NOW broadcast")
    print("    node n00 adds two constraints and counts a check at 8 s; frames are every transmission")
    print("    (a broadcast counts once) from 7.5 s until all 32 report the same state")
    print("| transport | frames from the change to convergence | seconds | idle frames per second before |")
    print("|---|---|---|---|")
    for transport in ("udp", "espnow"):
        marks = {}

        def mark(name):
            return lambda f: marks.__setitem__(name, (f.faults.frames, time.monotonic()))
        change = {"module": "ccrdt.workload", "interval_ms": 100, "start_ms": 8000, "steps": 1,
                  "toggle_every": 0}
        f = fleet.Fleet(32, 0, seed=1, transport=transport, log=lambda *a: None,
                        workload=lambda i: change if i == 0 else None)
        s = asyncio.run(f.run([(5.5, mark("idle")), (7.5, mark("change"))]))
        if not (s["converged"] and s["snapshots_equal"] and s["counts_match"]):
            sys.exit("one-change fleet over %s did not converge cleanly: %s" % (transport, s))
        done = (f.faults.frames, f.t0 + 7.5 + 1 + s["settle_s"])
        idle_rate = (marks["change"][0] - marks["idle"][0]) / (marks["change"][1] - marks["idle"][1])
        print("| %s | %d | %.1f | %.0f |" % (transport, done[0] - marks["change"][0],
                                            done[1] - marks["change"][1], idle_rate))


def main():
    mp = [tool("micropython"), "-X", "heapsize=%d" % HEAP]
    py = [tool("python")]
    table("Core state (32 nodes x 64 constraints)",
          [("micropython", mp + ["tools/bench_state.py"]), ("cpython", py + ["tools/bench_state.py"])],
          ["empty_state_heap", "full_state_heap", "merge_alloc", "state_hash_alloc",
           "merge_time", "hash_time"])
    table("Receiving frames (one node, full 32 x 64 state)",
          [("micropython", mp + ["tools/bench_gossip.py"]), ("cpython", py + ["tools/bench_gossip.py"])],
          ["delta_frames", "delta_bytes_avg", "delta_new_rate", "delta_join_rate", "delta_join_alloc",
           "delta_dup_rate", "delta_dup_alloc", "ping_rate", "ping_alloc", "encode_rate"])
    print("\nHeap figures are gc.mem_alloc() deltas on the 64-bit unix port (CPython has none).")
    fleets()
    for title, args in (
            ("Convergence from disjoint states, ccrdt vs the seed-style baseline (20 seeds)",
             ["--seeds", "20"]),
            ("The same with broadcast of own changes, as on ESP-NOW (ccrdt only: the seed has no broadcast)",
             ["--nodes", "16", "32", "64", "--broadcast", "--mode", "ccrdt", "--seeds", "20"]),
            ("One new constraint through a converged 32-node fleet at full capacity (20 seeds)",
             ["--one-change", "--loss", "0", "0.1", "0.3", "--seeds", "20"]),
            ("The same with broadcast of own changes, as on ESP-NOW (20 seeds)",
             ["--one-change", "--broadcast", "--mode", "ccrdt", "--loss", "0", "0.1", "0.3",
              "--seeds", "20"])):
        print("\n## %s" % title)
        sys.stdout.flush()
        r = subprocess.run(py + ["tools/sim.py"] + args, cwd=ROOT)
        if r.returncode:
            sys.exit("simulation did not converge everywhere")


if __name__ == "__main__":
    main()

"""`make bench`: run every benchmark on the MicroPython unix ports, 64-bit
and 32-bit (../shared/mp32/micropython, where it exists), and on CPython,
and print their figures as tables, with the command that made each."""
import os
import subprocess
import sys
import time

import hostenv
from hostenv import MP32, ROOT, tool


def micropythons():
    """(column, interpreter): the venv's 64-bit port and the 32-bit one."""
    out = [("mp 64-bit", tool("micropython"))]
    if os.path.exists(MP32):
        out.append(("mp 32-bit", MP32))
    else:
        print("No 32-bit figures: %s is missing." % MP32)
    return out


def harness(interp):
    """The command for a bench script, which is no node (see TEST_HEAP);
    allocation figures do not depend on the heap's size."""
    return hostenv.command(interp, hostenv.TEST_HEAP)


def run(cmd):
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if r.returncode:
        sys.exit("benchmark failed: %s\n%s%s" % (" ".join(cmd), r.stdout, r.stderr))
    return dict((k, (v, u)) for k, v, u in (line.split() for line in r.stdout.splitlines()))


def table(title, commands, rows):
    print("\n## %s" % title)
    for name, cmd in commands:
        shown = " ".join(os.path.relpath(c, ROOT) if os.path.isabs(c) else c for c in cmd)
        print("    %-11s %s" % (name + ":", shown))
    figures = [(name, run(cmd)) for name, cmd in commands]
    print("| figure | " + " | ".join(n for n, _ in figures) + " |")
    print("|---|" + "---|" * len(figures))
    for key in rows:
        cells = []
        for _, f in figures:
            v, unit = f.get(key, ("-", ""))
            cells.append("%s %s" % (v, unit) if v != "-" else "-")
        print("| %s | %s |" % (key, " | ".join(cells)))


def fleets(interps):
    """Virtual fleets of real MicroPython processes (tools/fleet.py); a
    fleet that did not end clean is shown with its problems.  Returns
    whether all ended clean."""
    import asyncio

    import fleet
    print("\n## Virtual fleets: real micropython processes over UDP on loopback")
    print("    MICROPYTHON=path python tools/fleet.py --nodes N --duration 10"
          "   (gossip every 250 ms + up to 125 ms jitter)")
    print("| micropython | heap | nodes | settled after the last change | gossip rounds "
          "| frames | bytes | heap used per node (max) | heap free (min) | CPU per node |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    problems = []
    for _, interp in interps:
        for n in (8, 32):
            f = fleet.Fleet(n, 10, seed=1, log=lambda *a: None, micropython=interp)
            s = asyncio.run(f.run())
            clean = (s["converged"] and s["snapshots_equal"] and s["counts_match"]
                     and not s["problems"])
            settled = (("%.1f s" % s["settle_s"] if s["converged"] else "-")
                       + ("" if clean else " (NOT clean)"))
            rounds = "%.0f" % s["settle_rounds"] if s["converged"] else "-"
            print("| %s | %d bytes | %d | %s | %s | %d | %d | %d bytes | %d bytes | %.1f %% |" % (
                hostenv.describe(interp), f.heap, n, settled, rounds, s["frames"], s["bytes"],
                s["heap_used_max"], s["heap_free_min"], s["cpu_percent"] or 0))
            problems += ["%d nodes on %s: %s" % (n, hostenv.describe(interp), p)
                         for p in (s["problems"] or ([] if clean else ["snapshots differ"]))]
    print("Heap used includes the firmware's modules, loaded as .mpy files as on a board"
          " after make deploy;")
    print("frozen into a board's flash they would not take heap.")
    for p in problems:
        print("problem: %s" % p)
    one_change_clean = one_change_fleets(fleet)
    return one_change_clean and not problems


def one_change_fleets(fleet):
    """Frames on air for one change in a converged 32-node virtual fleet;
    returns whether both runs ended clean."""
    import asyncio
    print("\n## One change through a converged 32-node virtual fleet:"
          " UDP unicast vs ESP-NOW broadcast")
    print("    on %s" % hostenv.describe())
    print("    node n00 adds two constraints and counts a check at 8 s;"
          " frames are every transmission")
    print("    (a broadcast counts once) from 7.5 s until all 32 report the same state")
    print("| transport | frames from the change to convergence | seconds"
          " | idle frames per second before |")
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
            print("one-change fleet over %s did not converge cleanly: %s" % (transport, s))
            return False
        done = (f.faults.frames, f.t0 + 7.5 + 1 + s["settle_s"])
        idle_rate = ((marks["change"][0] - marks["idle"][0])
                     / (marks["change"][1] - marks["idle"][1]))
        print("| %s | %d | %.1f | %.0f |" % (transport, done[0] - marks["change"][0],
                                            done[1] - marks["change"][1], idle_rate))
    return True


def board():
    """The RV32 board (qemu): heap with the firmware loaded as .mpy, and
    rates of a full node, emulated."""
    import rv32board
    print("\n## RV32 board (qemu rv32imc, 140 032-byte heap),"
          " firmware as -march=rv32imc .mpy over mpremote mount")
    print("    python tools/rv32board.py test_state && python tools/rv32board.py --bench")
    why = rv32board.available()
    if why:
        print("Not run: %s." % why)
        return
    _, _, out = rv32board.run_tests(["test_state"])
    for label, used, free, block in rv32board.heap_figures(out):
        print("| heap %s | used %d bytes | free %d bytes | largest free block %d bytes |"
              % (label, used, free, block))
    print("Rates, emulated (how the code runs on rv32imc under qemu on this host,"
          " not a chip's speed):")
    print(rv32board.run_bench().split("mounted at /remote\n")[-1], end="")


def main():
    mps = micropythons()
    py = [tool("python")]

    def columns(script):
        return ([(name, harness(interp) + [script]) for name, interp in mps]
                + [("cpython", py + [script])])
    table("Core state (32 nodes x 64 constraints)", columns("tools/bench_state.py"),
          ["empty_state_kept", "full_state_kept"]
          + ["%s_alloc%s" % (op, big) for big in ("", "_2e31")
             for op in ("record", "record_then_hash", "peer_record_then_merge", "merge_equal")]
          + ["merge_time", "hash_time"])
    table("Receiving frames (one node, full 32 x 64 state)", columns("tools/bench_gossip.py"),
          ["delta_frames", "delta_bytes_avg", "delta_new_rate", "delta_join_rate",
           "delta_join_alloc", "delta_dup_rate", "delta_dup_alloc", "ping_rate", "ping_alloc",
           "encode_rate"])
    print("\n*_kept: gc.mem_alloc() after gc.collect(), what a state keeps."
          "  *_alloc: bytes one call or frame")
    print("allocates, with the GC disabled around the measured loop and the empty loop subtracted")
    print("(host_tests/allocs.py); _2e31: every node's counter past 2**31."
          "  CPython has no heap counter.")
    board()
    clean = fleets(mps)
    for title, args in (
            ("Convergence from disjoint states, ccrdt vs the seed-style baseline (20 seeds)",
             ["--seeds", "20"]),
            ("The same with broadcast of own changes, as on ESP-NOW"
             " (ccrdt only: the seed has no broadcast)",
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
    if not clean:
        sys.exit("a virtual fleet did not end clean (see its problems above)")


if __name__ == "__main__":
    main()

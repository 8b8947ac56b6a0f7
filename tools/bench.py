"""`make bench`: every benchmark, printed as markdown tables with the command
that made each, and written to docs/figures.md (never edited by hand):
firmware sizes per board, the core state and the receive path on the
MicroPython unix ports (64-bit, and 32-bit where hostenv.MP32 is found) and
CPython, the RV32 board, virtual fleets, sites and chaos runs, and the
gossip simulator.

`make bench-quick` (--quick): the headline rows (sizes, core state, receive
path, an 8-node fleet per MicroPython) into docs/figures-quick.md, in about
a minute.

Before it starts it says how long it will take, and on stderr it shows each
step as it goes: the estimate is what each step took the last time on this
machine (build/bench-times.json), else on the project's 2-core build machine.
"""
import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

import hostenv
from hostenv import MP32, ROOT, tool

FIGURES = os.path.join(ROOT, "docs", "figures.md")
QUICK_FIGURES = os.path.join(ROOT, "docs", "figures-quick.md")
TIMES = os.path.join(ROOT, "build", "bench-times.json")
SIM = "tools/sim.py"


class Report:
    """The figures as they are printed, kept to be written to a file."""

    def __init__(self):
        self.lines = []

    def __call__(self, text=""):
        print(text, flush=True)
        self.lines.append(text)


def micropythons():
    """(column, interpreter): the venv's 64-bit port and the 32-bit one."""
    out = [("mp 64-bit", tool("micropython"))]
    if os.path.exists(MP32):
        out.append(("mp 32-bit", MP32))
    return out


def fleet_micropythons(out):
    """The interpreters fleets run on: micropythons() and the 32-bit one with
    the firmware frozen in (tools/frozen.py), or a line saying why not."""
    import frozen
    try:
        return micropythons() + [("mp 32-bit frozen", frozen.build(log=lambda *a: None))]
    except hostenv.Missing as e:
        out("No frozen 32-bit rows: %s." % e)
        return micropythons()


def heap_budget(out):
    """What a node keeps on the heap, part by part, on the frozen 32-bit
    build: a UDP node at full capacity (32 x 64) with the example workload
    and seven peers, run alone in a temporary flash (tools/bench_heap.py)."""
    import frozen
    from netsim import free_ports
    out("\n## Heap budget of a node, frozen 32-bit build (110 000-byte heap)")
    try:
        interp = frozen.build(log=lambda *a: None)
    except hostenv.Missing as e:
        out("Not run: %s." % e)
        return []
    with tempfile.TemporaryDirectory() as flash:
        with open(os.path.join(flash, "fleet.key"), "w") as f:
            f.write("00112233445566778899aabbccddeeff\n")
        port = free_ports(1)[0]
        with open(os.path.join(flash, "config.json"), "w") as f:
            json.dump({"node": "n00", "key_file": "fleet.key", "transports": ["udp"],
                       "udp": {"port": port, "peers": [
                           {"node": "n%02d" % i, "addr": "127.0.0.1:9"} for i in range(1, 8)]},
                       "max_nodes": 32, "max_constraints": 64,
                       "workload": {"module": "ccrdt.workload", "interval_ms": 200}}, f)
        script = os.path.join(ROOT, "tools", "bench_heap.py")
        figures = {}
        for mode in ([], ["parts"]):
            cmd = hostenv.command(interp) + [script] + mode
            r = subprocess.run(cmd, cwd=flash, capture_output=True, text=True,
                               env=dict(os.environ, MICROPYPATH=".frozen"))
            if r.returncode:
                return ["heap budget: %s" % (r.stdout + r.stderr).strip()[-300:]]
            for line in r.stdout.splitlines():
                words = line.split()
                if len(words) == 3 and words[2] == "bytes":
                    figures[words[0]] = int(words[1])
    out("    cd <flash> && MICROPYPATH=.frozen %s -X heapsize=110000 tools/bench_heap.py [parts]"
        % shown(interp))
    out("| part | heap kept |")
    out("|---|---|")
    made = [k for k in figures if k.startswith(("state_", "gossip_", "receive_"))]
    for k, v in figures.items():
        if k == "node_built":  # shown as its parts and the rest
            for m in made:
                out("| %s | %d bytes |" % (m, figures[m]))
            v -= sum(figures[m] for m in made)
            k = "node_rest (transport, store, status, workload, config)"
        if k not in made and k not in ("node_total", "heap_free"):
            out("| %s | %d bytes |" % (k, v))
    out("| **node_total** | **%d bytes** |" % figures["node_total"])
    out("| heap left to the application | %d bytes |" % figures["heap_free"])
    out("Each figure is gc.mem_alloc() after gc.collect(), the difference to the row above;"
        " the bench script's own code is part of the first rows.  Frozen modules still keep"
        " their module dicts, functions and classes on the heap.  Under load the fleets'"
        " frozen rows say what a node keeps (heap used per node).")
    return [] if figures["node_total"] <= frozen.BUDGET else [
        "a frozen node keeps %d bytes, more than its budget of %d"
        % (figures["node_total"], frozen.BUDGET)]


def shown(path):
    return os.path.relpath(path, ROOT) if os.path.isabs(path) else path


def run(cmd):
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if r.returncode:
        sys.exit("benchmark failed: %s\n%s%s" % (" ".join(cmd), r.stdout, r.stderr))
    return r.stdout


def table(out, title, script, rows):
    """One script's `name value unit` lines, a column per interpreter."""
    commands = ([(name, hostenv.command(interp, hostenv.TEST_HEAP) + [script])
                 for name, interp in micropythons()] + [("cpython", [tool("python"), script])])
    out("\n## %s" % title)
    for name, cmd in commands:
        out("    %-11s %s" % (name + ":", " ".join(shown(c) for c in cmd)))
    figures = [(name, dict((k, (v, u)) for k, v, u in
                           (line.split() for line in run(cmd).splitlines())))
               for name, cmd in commands]
    out("| figure | " + " | ".join(n for n, _ in figures) + " |")
    out("|---|" + "---|" * len(figures))
    for key in rows:
        cells = []
        for _, f in figures:
            v, unit = f.get(key, ("-", ""))
            cells.append("%s %s" % (v, unit) if v != "-" else "-")
        out("| %s | %s |" % (key, " | ".join(cells)))


def sizes(out):
    """What `make mpy BOARD=...` builds for each board's config.json."""
    import deploy
    out("\n## Firmware per board: the .mpy files `make mpy` builds")
    out("    make mpy BOARD=<board>   (the components its boards/<board>/config.json needs)")
    out("| board | arch | components | modules | .mpy bytes |")
    out("|---|---|---|---|---|")
    boards = sorted(d for d in os.listdir(os.path.join(ROOT, "boards"))
                    if os.path.exists(os.path.join(ROOT, "boards", d, "config.json")))
    for board in boards:
        with open(os.path.join(ROOT, "boards", board, "config.json")) as f:
            components = sorted(deploy.needs(json.load(f)))
        with tempfile.TemporaryDirectory() as tmp:
            built = deploy.build(board, tmp, components)
        mods = [rel for rel in built if rel.endswith(".mpy")]
        out("| %s | %s | %s | %d | %d |" % (board, deploy.board_meta(board)["arch"],
                                            ", ".join(components), len(mods),
                                            sum(built[m] for m in mods)))


def core(out):
    table(out, "Core state (32 nodes x 64 constraints)", "tools/bench_state.py",
          ["empty_state_kept", "full_state_kept"]
          + ["%s_alloc%s" % (op, big) for big in ("", "_2e31")
             for op in ("record", "record_then_hash", "peer_record_then_merge", "merge_equal")]
          + ["merge_time", "hash_time"])


def receive(out):
    table(out, "Receiving frames (one node, full 32 x 64 state)", "tools/bench_gossip.py",
          ["delta_frames", "delta_bytes_avg", "delta_new_rate", "delta_join_rate",
           "delta_join_alloc", "delta_dup_rate", "delta_dup_alloc", "ping_rate", "ping_alloc",
           "replay_rate", "replay_alloc", "encode_rate"])
    out("\n*_kept: gc.mem_alloc() after gc.collect(), what a state keeps.  *_alloc: bytes one"
        " call or frame allocates, with the GC disabled around the measured loop and the empty"
        " loop subtracted (host_tests/allocs.py); _2e31: every node's counter past 2**31."
        "  CPython has no heap counter.")


def board(out):
    """The RV32 board (qemu): heap with the firmware loaded as .mpy, and
    rates of a full node, emulated."""
    import rv32board
    out("\n## RV32 board (qemu rv32imc, 140 032-byte heap),"
        " firmware as -march=rv32imc .mpy over mpremote mount")
    out("    python tools/rv32board.py test_state && python tools/rv32board.py --bench")
    why = rv32board.available()
    if why:
        out("Not run: %s." % why)
        return []
    _, _, text = rv32board.run_tests(["test_state"])
    for label, used, free, block in rv32board.heap_figures(text):
        out("| heap %s | used %d bytes | free %d bytes | largest free block %d bytes |"
            % (label, used, free, block))
    out("Rates, emulated (how the code runs on rv32imc under qemu on this host,"
        " not a chip's speed):")
    for line in rv32board.run_bench().split("mounted at /remote\n")[-1].splitlines():
        out(line)
    return []


def fleet_run(args, interp, events=()):
    """A tools/fleet.py command line run on interp: (fleet, summary, clean)."""
    import asyncio

    import fleet
    f, own_events = fleet.from_args(args, log=lambda *a: None, micropython=interp)
    s = asyncio.run(f.run(list(own_events) + list(events)))
    clean = s["converged"] and s["snapshots_equal"] and s["counts_match"] and not s["problems"]
    return f, s, clean


def problems_of(what, s, clean):
    return ["%s: %s" % (what, p) for p in (s["problems"] or ([] if clean else
                                                            ["snapshots differ"]))]


def settled(s, clean):
    return ("%.1f s" % s["settle_s"] if s["converged"] else "-") + ("" if clean else
                                                                    " (NOT clean)")


def fleets(out, nodes=(8, 32)):
    """Virtual fleets of real MicroPython processes (tools/fleet.py); a
    fleet that did not end clean is shown with its problems."""
    out("\n## Virtual fleets: real micropython processes over UDP on loopback")
    out("    MICROPYTHON=path python tools/fleet.py --nodes N --duration 10"
        "   (gossip every 250 ms + up to 125 ms jitter)")
    out("| micropython | heap | nodes | settled after the last change | gossip rounds "
        "| frames | bytes | heap used per node (max) | heap free (min) | CPU per node |")
    out("|---|---|---|---|---|---|---|---|---|---|")
    problems = []
    for _, interp in fleet_micropythons(out):
        for n in nodes:
            f, s, clean = fleet_run(["--nodes", str(n), "--duration", "10"], interp)
            rounds = "%.0f" % s["settle_rounds"] if s["converged"] else "-"
            out("| %s | %d bytes | %d | %s | %s | %d | %d | %d bytes | %d bytes | %.1f %% |" % (
                hostenv.describe(interp), f.heap, n, settled(s, clean), rounds, s["frames"],
                s["bytes"], s["heap_used_max"], s["heap_free_min"], s["cpu_percent"] or 0))
            problems += problems_of("%d nodes on %s" % (n, hostenv.describe(interp)), s, clean)
    out("Heap used includes the firmware's modules: loaded as .mpy files, as on a board"
        " after make deploy, except on the frozen build (tools/frozen.py), whose nodes run"
        " main.py alone with the firmware in the image, as a board built with its"
        " manifest.py does.")
    return problems


def quick_fleets(out):
    return fleets(out, nodes=(8,))


def one_change(out):
    """Frames on air for one change in a converged 32-node virtual fleet."""
    import fleet
    out("\n## One change through a converged 32-node virtual fleet:"
        " UDP unicast vs ESP-NOW broadcast")
    out("    on %s" % hostenv.describe())
    out("    node n00 adds two constraints and counts a check at 8 s; frames are every"
        " transmission (a broadcast counts once) from 7.5 s until all 32 report the same state")
    out("| transport | frames from the change to convergence | seconds"
        " | idle frames per second before |")
    out("|---|---|---|---|")
    import asyncio
    problems = []
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
            out("| %s | did not converge cleanly: %s | - | - |" % (transport, s["problems"]))
            problems.append("one change over %s did not converge cleanly" % transport)
            continue
        done = (f.faults.frames, f.t0 + 7.5 + 1 + s["settle_s"])
        idle_rate = ((marks["change"][0] - marks["idle"][0])
                     / (marks["change"][1] - marks["idle"][1]))
        out("| %s | %d | %.1f | %.0f |" % (transport, done[0] - marks["change"][0],
                                          done[1] - marks["change"][1], idle_rate))
    return problems


# Runs of tools/fleet.py --nodes 8 --duration 10 --plain ...: (options, word size).
# 32-bit runs are on the frozen build where there is one, as boards run: as
# .mpy files a full-capacity ESP-NOW node keeps only a few KB free (the
# fleets' rows show the .mpy figures).
SITES = [("--sites 2", 64), ("--sites 2", 32), ("--sites 2 --broker-outage 8:4", 64),
         ("--lan --loss 0.2", 32), ("--transport espnow --loss 0.2", 32)]
CHAOS = ("--nodes 6 --duration 10 --loss 0.2 --dup 0.1 --reorder-ms 30 --kill 3 --replace 5"
         " --twin --partition 2:6 --outsider 0.2")
CHAOS_SITES = ("--sites 2 --nodes 8 --duration 10 --loss 0.2 --dup 0.1 --kill 3 --replace 5"
               " --twin --outsider 0.2")


def interp_of(bits):
    """The interpreter of a word size; for 32 the frozen build if any."""
    return dict((hostenv.word_bits(i), i)
                for _, i in fleet_micropythons(lambda line: None)).get(bits)


def sites(out):
    """Two sites through a real broker, LANs without peer lists, ESP-NOW
    broadcast; then the chaos run."""
    import broker
    out("\n## Sites, LANs and gateways: 8 nodes, 10 s of workload, gossip every 250 ms")
    out("    MICROPYTHON=path python tools/fleet.py --nodes 8 --duration 10 --plain <options>"
        "   (the broker: %s)" % broker.chosen_kind())
    problems, no_mqtt = [], None
    with tempfile.TemporaryDirectory() as lib:
        try:
            hostenv.install_umqtt(lib)  # what the gateways need; a fleet installs its own
        except hostenv.Missing as e:
            no_mqtt = str(e)
            out("The --sites rows were not run: %s" % e)
    out("| options | micropython | settled after the last change | frames | through the broker"
        " | bytes | least heap free |")
    out("|---|---|---|---|---|---|---|")
    for options, bits in SITES:
        interp = interp_of(bits)
        if interp is None or (no_mqtt and "--sites" in options):
            continue
        f, s, clean = fleet_run(["--nodes", "8", "--duration", "10"] + options.split(), interp)
        through = ("%d (%.1f KB)" % (s["broker_frames"], s["broker_bytes"] / 1000)
                   if "broker_frames" in s else "-")
        out("| `%s` | %s | %s | %d | %s | %d | %s |" % (
            options, hostenv.describe(interp), settled(s, clean), s["frames"], through,
            s["bytes"], "%.1f KB" % (s["heap_free_min"] / 1000) if bits == 32 else "-"))
        problems += problems_of(options, s, clean)
    interp = interp_of(32) or interp_of(64)
    out("\nChaos runs: 20 % loss, 10 % duplication, n01 killed with SIGKILL at 3 s and restarted,"
        " n02 replaced at 5 s by a board with an empty flash and the same name, one more board"
        " given n00's name, and an outsider without the key who, after every fifth frame on the"
        " air, sends a recorded one again from a spoofed source; the first also 30 ms"
        " reordering and the fleet cut in two from 2 to 6 s, the second two sites, where the"
        " outsider also replays on the broker and publishes a payload longer than a frame every"
        " 2 s (64 KB, every fourth 1 MB)")
    runs = [CHAOS] + ([] if no_mqtt else [CHAOS_SITES])
    for options in runs:
        out("    MICROPYTHON=%s python tools/fleet.py --plain %s" % (shown(interp), options))
    out("| run | settled after the last change | gossip rounds | frames | bytes | dropped"
        " | least heap free | name clash reported by | lost with the wiped flash"
        " | replayed by the outsider | refused as replays, as for another board"
        " | oversized published, refused |")
    out("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for options in runs:
        f, s, clean = fleet_run(options.split(), interp)
        over = ("%d (%.1f MB) to gateways %d times, refused %d" % (
            s["oversized_sent"], s["oversized_bytes"] / 1e6, s["oversized_deliveries"],
            s["oversized_refused"]) if "oversized_sent" in s else "-")
        row = "| %s on %s | %s | %s | %d | %d | %d | %.1f KB | %s | %d checks | %d | %d, %d | %s |"
        out(row % (
            "two sites" if "--sites" in options else "one fleet", hostenv.describe(interp),
            settled(s, clean), "%.0f" % s["settle_rounds"] if s["converged"] else "-",
            s["frames"], s["bytes"], s["dropped"], s["heap_free_min"] / 1000,
            ", ".join(s["clashes"]) or "-", f.unsent, s["outsider_sent"], s["replays_refused"],
            s["elsewhere_refused"], over))
        problems += problems_of(options, s, clean)
        if "oversized_sent" in s and s["oversized_refused"] != s["oversized_deliveries"]:
            problems.append("%s: %d oversized deliveries, %d refused" % (
                options, s["oversized_deliveries"], s["oversized_refused"]))
    return problems


# The simulator's grids: (title, tools/sim.py's options).
GRIDS = [("Convergence from disjoint states, ccrdt vs the seed-style baseline (20 seeds)",
          ["--seeds", "20"]),
         ("The same with broadcast of own changes, as on ESP-NOW"
          " (ccrdt only: the seed has no broadcast)",
          ["--nodes", "16", "32", "64", "--broadcast", "--mode", "ccrdt", "--seeds", "20"]),
         ("One new constraint through a converged 32-node fleet at full capacity (20 seeds)",
          ["--one-change", "--loss", "0", "0.1", "0.3", "--seeds", "20"]),
         ("The same with broadcast of own changes, as on ESP-NOW (20 seeds)",
          ["--one-change", "--broadcast", "--mode", "ccrdt", "--loss", "0", "0.1", "0.3",
           "--seeds", "20"])]


def simulation(title, args):
    """A bench step: one grid of tools/sim.py, its table as it printed it."""
    def step(out):
        out("\n## %s" % title)
        r = subprocess.run([tool("python"), SIM] + args, cwd=ROOT, capture_output=True,
                           text=True)
        for line in r.stdout.rstrip("\n").splitlines():
            out(line)
        if r.returncode:
            return ["the simulation %s did not converge everywhere: %s"
                    % (" ".join(args), r.stderr.strip()[-300:])]
        return []
    return step


# (name, what, function, seconds it took on the project's 2-core build machine)
STEPS = [("sizes", "firmware sizes per board", sizes, 5),
         ("core", "core state on each interpreter", core, 5),
         ("receive", "receiving frames on each interpreter", receive, 5),
         ("rv32", "the RV32 board under qemu", board, 20),
         ("heap", "a node's heap budget on the frozen 32-bit build", heap_budget, 60),
         ("fleets", "virtual fleets of 8 and 32 nodes on each MicroPython", fleets, 90),
         ("one_change", "one change through 32 nodes, UDP and ESP-NOW", one_change, 25),
         ("sites", "sites, LANs and a chaos run", sites, 110),
         ("sim_disjoint", "the simulator: disjoint states, 4 to 64 nodes",
          simulation(*GRIDS[0]), 480),
         ("sim_broadcast", "the simulator: the same with broadcast", simulation(*GRIDS[1]), 100),
         ("sim_one_change", "the simulator: one change, 32 nodes", simulation(*GRIDS[2]), 60),
         ("sim_one_change_broadcast", "the simulator: one change with broadcast",
          simulation(*GRIDS[3]), 15)]
QUICK = [("sizes", "firmware sizes per board", sizes, 5),
         ("core", "core state on each interpreter", core, 5),
         ("receive", "receiving frames on each interpreter", receive, 5),
         ("fleets8", "an 8-node virtual fleet on each MicroPython", quick_fleets, 25)]


def estimates(steps):
    """Seconds each step is expected to take: the last run here, else the
    build machine's."""
    try:
        with open(TIMES) as f:
            last = json.load(f)
    except (OSError, ValueError):
        last = {}
    return [last.get(name, default) for name, _, _, default in steps]


def minutes(s):
    return "%d min %02d s" % (s // 60, s % 60) if s >= 60 else "%d s" % s


def header(quick, took):
    """What the file says about itself: how it was made, where, when."""
    def git(*args):
        r = subprocess.run(["git"] + list(args), cwd=ROOT, capture_output=True, text=True)
        return r.stdout.strip() if r.returncode == 0 else ""
    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    if git("status", "--porcelain", "--untracked-files=no"):
        commit += " with uncommitted changes"
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f
                       if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    mps = "; ".join(hostenv.describe(i) for _, i in micropythons())
    lines = [
        "# ccrdt figures%s" % (": the quick run" if quick else ""),
        "",
        "<!-- Generated by `make %s` (tools/bench.py%s). Do not edit: run it again. -->"
        % (("bench-quick", " --quick") if quick else ("bench", ""))]
    if quick:
        lines += ["", "The headline rows only, from `make bench-quick`; docs/figures.md has"
                  " every figure, from `make bench`."]
    lines += [
        "",
        "Printed by `make %s` in %s on %s at commit %s, on %s (%d cores, %s); CPython %s;"
        " MicroPython: %s. Every section names the command that made it."
        % ("bench-quick" if quick else "bench", minutes(took), time.strftime("%Y-%m-%d"),
           commit, cpu, os.cpu_count() or 1, platform.system(), platform.python_version(),
           mps),
        "",
        "How to read them: the 32-bit columns are the board figures (every ESP32 is a 32-bit"
        " machine; arrays take the same bytes on both word sizes while objects do not, so the"
        " 64-bit figures are not \"twice\" anything). Rates on a real ESP32 are lower than on"
        " this host; the RV32 board's rates are emulated and say how the code runs on rv32imc,"
        " not a chip's speed. The machine may be shared: rates vary between runs by about"
        " 20 %. Simulator rounds: every node pings one random peer per round; bytes and frames"
        " count every transmission, lost ones included."]
    if not os.path.exists(MP32):
        lines += ["", "No 32-bit figures: %s; MICROPYTHON32=path names one." % hostenv.HOW_MP32]
    return lines


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true",
                    help="the headline rows only, into docs/figures-quick.md")
    a = ap.parse_args(argv)
    steps = QUICK if a.quick else STEPS
    path = QUICK_FIGURES if a.quick else FIGURES
    expected = estimates(steps)
    print("make %s: %d steps, about %s (each as long as it took last time here, or on a "
          "2-core machine); the figures go to %s"
          % ("bench-quick" if a.quick else "bench", len(steps), minutes(sum(expected)),
             shown(path)), file=sys.stderr, flush=True)
    out = Report()
    problems, took, t_start = [], {}, time.monotonic()
    for k, ((name, what, step, _), guess) in enumerate(zip(steps, expected), 1):
        left = sum(expected[k - 1:])
        print("[%d/%d] %s (about %s; %s left)" % (k, len(steps), what, minutes(guess),
                                                   minutes(left)), file=sys.stderr, flush=True)
        t0 = time.monotonic()
        problems += step(out) or []
        took[name] = round(time.monotonic() - t0)
        print("[%d/%d] done in %s" % (k, len(steps), minutes(took[name])), file=sys.stderr,
              flush=True)
    for p in problems:
        out("problem: %s" % p)
    os.makedirs(os.path.dirname(TIMES), exist_ok=True)
    try:
        with open(TIMES) as f:
            took = dict(json.load(f), **took)
    except (OSError, ValueError):
        pass
    with open(TIMES, "w") as f:
        json.dump(took, f, indent=1, sort_keys=True)
    with open(path, "w") as f:
        f.write("\n".join(header(a.quick, time.monotonic() - t_start) + out.lines) + "\n")
    print("make %s: %s in %s, written to %s"
          % ("bench-quick" if a.quick else "bench", "problems (see above)" if problems else
             "done", minutes(time.monotonic() - t_start), shown(path)), file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

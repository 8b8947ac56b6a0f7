"""Live monitor of a fleet: a passive, authenticated listener of STATUS frames.

    python tools/monitor.py --key build/fleet/fleet.key --port 47999 [--fleet 1]

It checks every frame's AES-CMAC with the fleet key (frames of other fleets
or with a bad tag are counted and ignored) and shows one row per node.  On a
terminal the table is live (rich); otherwise it prints a line per second.
"""
import argparse
import asyncio
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "firmware"))

from ccrdt import wire  # noqa: E402
from ccrdt.config import read_key  # noqa: E402
from ccrdt.status import parse  # noqa: E402


class Monitor(asyncio.DatagramProtocol):
    def __init__(self, key, fleet=1):
        self.framer = wire.Framer(key, fleet, 0)
        self.nodes = {}  # name -> latest status, plus rx rate
        self.refused = 0

    def datagram_received(self, data, addr):
        if self.framer.check(data, len(data)) != wire.OK:
            self.refused += 1
            return
        s = parse(data, len(data))
        if s is None:
            self.refused += 1
            return
        now = time.monotonic()
        old = self.nodes.get(s["name"])
        s["seen"] = now
        s["rx_rate"] = 0.0
        if old and now > old["seen"] and s["rx"] >= old["rx"]:
            s["rx_rate"] = (s["rx"] - old["rx"]) / (now - old["seen"])
        self.nodes[s["name"]] = s

    def live(self, max_age=5.0):
        now = time.monotonic()
        return dict((k, v) for k, v in self.nodes.items() if now - v["seen"] <= max_age)

    def converged(self, names):
        """True if every named node reported recently, none has changes under
        way (workload, uncommitted, recovering) and all hashes agree."""
        live = self.live()
        return (all(n in live and not live[n]["flags"] for n in names)
                and len(set(live[n]["hash"] for n in names)) == 1)

    def majority_hash(self):
        hashes = [v["hash"] for v in self.live().values()]
        return max(set(hashes), key=hashes.count) if hashes else None

    def table(self):
        from rich.table import Table
        t = Table(title="ccrdt fleet (%d nodes reporting, %d frames refused)" % (
            len(self.live()), self.refused))
        for col in ("node", "constraints", "satisfied", "violations", "rate", "hash", "converged",
                    "frames/s", "rejected", "heap free"):
            t.add_column(col, justify="left" if col in ("node", "hash") else "right")
        common = self.majority_hash()
        for name in sorted(self.nodes):
            s = self.nodes[name]
            total = s["satisfied"] + s["violations"]
            rate = s["satisfied"] / total if total else 1.0
            t.add_row(name, str(s["constraints"]), str(s["satisfied"]), str(s["violations"]),
                      "%.3f" % rate, "%08x" % s["hash"], "yes" if s["hash"] == common else "no",
                      "%.0f" % s["rx_rate"], str(s["rejected"]), str(s["heap_free"]))
        return t

    def line(self):
        common = self.majority_hash()
        agree = sum(1 for v in self.live().values() if v["hash"] == common)
        return "monitor: %d nodes reporting, %d agree on %s, %d frames refused" % (
            len(self.live()), agree, "%08x" % common if common is not None else "-", self.refused)


async def listen(monitor, port, host="127.0.0.1"):
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(lambda: monitor, local_addr=(host, port))
    return transport


async def main_async(a):
    mon = Monitor(read_key(a.key), a.fleet)
    await listen(mon, a.port)
    if sys.stdout.isatty():
        from rich.live import Live
        with Live(mon.table(), refresh_per_second=4) as live:
            while True:
                await asyncio.sleep(0.25)
                live.update(mon.table())
    while True:
        await asyncio.sleep(1)
        print(mon.line(), flush=True)


def main():
    ap = argparse.ArgumentParser(description="Watch a ccrdt fleet's STATUS frames.")
    ap.add_argument("--key", required=True, help="fleet key file")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--fleet", type=int, default=1)
    try:
        asyncio.run(main_async(ap.parse_args()))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()

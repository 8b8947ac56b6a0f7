"""Heap budget of a node, part by part; runs on MicroPython, in a node's
flash directory (config.json, its key), best on an interpreter with the
firmware frozen in (tools/frozen.py), as on a board.

    cd <flash> && micropython -X heapsize=110000 path/to/bench_heap.py [parts]
Prints one `name value unit` line per part: what it keeps on the heap
(gc.mem_alloc() after gc.collect()), in the order a board's boot makes
them; node_running is everything a node keeps after running two seconds
with its workload.  With
`parts`: the state, the gossip layer's own buffers and tables and the
receive queue, each made alone after the modules, instead of a node.
"""
import sys

if sys.argv[1:2] in (["-h"], ["--help"]):  # a board-side script: its docstring is its help
    print(globals().get("__doc__") or "%s: see the docstring at its top" % sys.argv[0])
    sys.exit(0)
import gc

gc.collect()
_last = [gc.mem_alloc()]
_start = _last[0]


def part(name):
    """Print what was kept since the last part."""
    gc.collect()
    now = gc.mem_alloc()
    print("%s %d bytes" % (name, now - _last[0]))
    _last[0] = now


import asyncio  # noqa: E402
import select  # noqa: E402,F401
import socket  # noqa: E402,F401

part("asyncio_socket")
import ccrdt.delta  # noqa: E402,F401
import ccrdt.restore  # noqa: E402,F401
import ccrdt.state  # noqa: E402,F401
import ccrdt.store  # noqa: E402,F401
import ccrdt.vclock  # noqa: E402,F401
import ccrdt.wire  # noqa: E402,F401

part("modules_core")
import ccrdt.fresh  # noqa: E402,F401
import ccrdt.gossip  # noqa: E402,F401

part("modules_gossip")
import ccrdt.boot  # noqa: E402,F401
import ccrdt.node  # noqa: E402,F401
import ccrdt.status  # noqa: E402,F401
import ccrdt.transport.udp  # noqa: E402,F401
import ccrdt.workload  # noqa: E402,F401

part("modules_node_udp_workload")
from ccrdt.config import load  # noqa: E402

cfg = load("config.json")
part("config_while_booting")
if sys.argv[1:2] == ["parts"]:
    # The node's big parts, each made alone after the modules, as the node makes them.
    caps = (cfg["max_nodes"], cfg["max_constraints"])
    state = ccrdt.state.ConstraintState(cfg["node"], *caps)
    part("state_%dx%d" % caps)
    g = ccrdt.gossip.GossipNode(cfg["node"], cfg["key"], cfg["fleet"], state=state)
    part("gossip_buffers_and_tables")
    q = ccrdt.node.RxQueue(cfg["rx_queue"])
    part("receive_queue_%d_frames" % cfg["rx_queue"])
    sys.exit(0)


load = None
ccrdt.boot.forget("config")
part("config_module_let_go")
node = ccrdt.boot.build(cfg, "", log=lambda line: None)
cfg = None
part("node_built")
ccrdt.boot.forget("restore")
part("restore_module_let_go")


async def measure():
    asyncio.create_task(node.run())
    await asyncio.sleep_ms(2000)
    part("node_running_2s")
    gc.collect()
    print("node_total %d bytes" % (gc.mem_alloc() - _start))
    print("heap_free %d bytes" % gc.mem_free())


asyncio.run(measure())

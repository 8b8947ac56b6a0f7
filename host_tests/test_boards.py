"""End to end on virtual boards: make deploy with mpremote, gossip over the
ESP-NOW stand-in, the monitor sees convergence, mpremote reads the snapshots
back, on the 64-bit and the 32-bit MicroPython.  Bounded in time; everything
it starts, it stops."""
import asyncio
import hashlib
import json
import os
import subprocess
import sys
import threading
import time

import pytest
from interp import BOTH, ROOT

import hostenv
from monitor import Monitor, listen
from netsim import AirHub, Faults, free_ports
from vboard import VBoard

from ccrdt.config import read_key
from ccrdt.restore import decode_state

BIN = os.path.dirname(sys.executable)


class Host:
    """The air hub and the monitor, on an asyncio loop in a thread."""

    def __init__(self, key_path):
        self.air_port, self.mon_port = free_ports(2)
        self.mon = Monitor(read_key(key_path))
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()

        async def serve():
            await listen(self.mon, self.mon_port)
            await self.loop.create_datagram_endpoint(lambda: AirHub(Faults(1)),
                                                     local_addr=("127.0.0.1", self.air_port))
            ready.set()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        asyncio.run_coroutine_threadsafe(serve(), self.loop)
        assert ready.wait(5)

    def stop(self):
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


def make(*args):
    env = dict(os.environ, PATH=BIN + os.pathsep + os.environ.get("PATH", ""))
    return subprocess.run(["make", "--no-print-directory", "-C", ROOT] + list(args),
                          capture_output=True, text=True, timeout=120, env=env)


def flash_digest(board):
    out = {}
    for base, _, files in os.walk(board.dir):
        for f in files:
            with open(os.path.join(base, f), "rb") as fh:
                rel = os.path.relpath(os.path.join(base, f), board.dir)
                out[rel] = hashlib.sha256(fh.read()).hexdigest()
    return out


@pytest.fixture
def rig(tmp_path, request):
    """Three virtual boards on the interpreter given as the parameter
    (default hostenv.MICROPYTHON), the board name to deploy to them, the air
    hub and the monitor."""
    interp = getattr(request, "param", hostenv.MICROPYTHON)
    key = str(tmp_path / "fleet.key")
    assert make("key", "KEY=" + key).returncode == 0
    host = Host(key)
    boards = [VBoard(str(tmp_path / ("vb%d" % i)), mac="0200000009%02x" % i,
                     air="127.0.0.1:%d" % host.air_port, micropython=interp) for i in range(3)]
    for b in boards:
        b.start()
    time.sleep(1)  # the REPLs come up
    yield key, host, boards, hostenv.board(interp)
    for b in boards:
        b.stop()
    host.stop()


@pytest.mark.parametrize("rig", BOTH, indirect=True)
def test_deploy_gossip_converge_and_read_back(rig):
    key, host, boards, board = rig
    names = ["vb-%d" % i for i in range(3)]
    workload = json.dumps({"module": "ccrdt.workload", "interval_ms": 200, "run_ms": 2500})
    sets = "SET=--set 'monitor=\"127.0.0.1:%d\"' --set 'workload=%s'" % (host.mon_port, workload)
    # left by an earlier deploy: a component this config does not need, a source file
    for b in boards:
        os.makedirs(os.path.join(b.dir, "ccrdt", "transport"))
        for stale in ("ccrdt/transport/mqtt.mpy", "ccrdt/state.py"):
            open(os.path.join(b.dir, stale), "w").close()
    for b, name in zip(boards, names):
        r = make("deploy", "PORT=" + b.device, "BOARD=" + board, "NODE=" + name, "KEY=" + key,
                 sets)
        assert r.returncode == 0, r.stdout + r.stderr
        assert "board reset" in r.stdout
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not host.mon.converged(names):
        time.sleep(0.5)
    assert host.mon.converged(names), host.mon.line() + "".join(
        "\n--- %s console:\n%s" % (n, b.console_tail()) for n, b in zip(names, boards))
    live = host.mon.named()
    assert all(live[n]["nodes"] == 3 and live[n]["constraints"] >= 3 for n in names)
    assert all(b.boots == 2 for b in boards)  # the deploy's reset rebooted each board once
    # ESP-NOW, UDP for the monitor, the workload: what the config needs, as .mpy only
    for b in boards:
        flash = set(flash_digest(b))
        assert {"ccrdt/transport/espnow.mpy", "ccrdt/transport/udp.mpy", "ccrdt/workload.mpy",
                "ccrdt/state.mpy"} <= flash, flash
        assert not {f for f in flash if f.startswith("ccrdt/") and not f.endswith(".mpy")}, flash
        assert "ccrdt/transport/mqtt.mpy" not in flash, flash
    states = []
    for b, name in zip(boards, names):
        local = os.path.join(b.dir + ".state.bin")
        r = subprocess.run([os.path.join(BIN, "mpremote"), "connect", b.device, "resume",
                            "fs", "cp", ":state.bin", local],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        with open(local, "rb") as f:
            states.append(decode_state(f.read(), name))
    assert states[0] == states[1] == states[2]
    assert states[0].state_hash() == live[names[0]]["hash"]
    assert all(states[0].constraints.contains(n + ":hot") for n in names)


def test_deploy_refuses_a_missing_key_or_a_broken_config_and_writes_nothing(rig):
    key, host, boards, board = rig
    b = boards[0]
    before = flash_digest(b)
    r = make("deploy", "PORT=" + b.device, "BOARD=" + board, "NODE=vb-x", "KEY=")
    assert r.returncode != 0 and "KEY=path/to/fleet.key" in r.stdout + r.stderr
    r = make("deploy", "PORT=" + b.device, "BOARD=" + board, "NODE=vb-x", "KEY=" + key,
             "SET=--set 'gossip_ms=\"fast\"'")
    assert r.returncode != 0 and "'gossip_ms'" in r.stdout + r.stderr
    r = make("deploy", "PORT=" + b.device, "BOARD=" + board, "NODE=" + "x" * 17, "KEY=" + key)
    assert r.returncode != 0 and "'node'" in r.stdout + r.stderr
    assert flash_digest(b) == before

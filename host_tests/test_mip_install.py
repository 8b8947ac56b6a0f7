"""A board set up as a user of the packages does it: `mpremote mip install`
from the package.json files onto an empty virtual board (tools/vboard.py),
then main.py, config.json and the key, and a reset.  The node boots from
what mip installed (the .py sources in the board's /lib), gateway and all:
its MQTT transport runs on the umqtt.simple that mip fetched as a dep, and
it gossips through a real broker with a CPython gateway of the same fleet.

umqtt.simple comes from an index laid out as micropython.org's, made from
MPLIB's copy (host_tests/mipindex.py): the real index is not reachable here."""
import json
import os
import subprocess
import sys
import time

import mipindex
import pytest
from interp import ROOT
from standin_gateway import StandInGateway
from test_boards import Host

from broker import Broker
from netsim import free_ports
from vboard import VBoard

KEY = bytes(range(16, 32))
NAME = "vb-mip"


def mpremote(board, *args):
    r = subprocess.run([os.path.join(os.path.dirname(sys.executable), "mpremote"), "connect",
                        board.device, "resume"] + list(args),
                       cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, "mpremote %s: %s%s\n--- console:\n%s" % (
        " ".join(args[:3]), r.stdout, r.stderr, board.console_tail())
    return r.stdout


@pytest.fixture
def site(tmp_path):
    """A broker, a CPython gateway on it, the monitor; all stopped after."""
    key = tmp_path / "fleet.key"
    key.write_text(KEY.hex() + "\n")
    with Broker() as b:
        gw = StandInGateway("host-gw", KEY, b.host, b.port)
        host = Host(str(key))
        try:
            yield b, gw, host, str(key)
        finally:
            host.stop()
            gw.close()


def test_mip_installs_a_gateway_that_boots_and_gossips(tmp_path, site, umqtt_source):
    b, gw, host, key = site
    index = mipindex.build(str(tmp_path / "index"), "umqtt.simple", {
        "umqtt/simple.mpy": mipindex.compiled(umqtt_source, str(tmp_path / "simple.mpy"))})
    board = VBoard(str(tmp_path / "vb"))
    board.start()
    try:
        time.sleep(1)  # its REPL comes up
        out = mpremote(board, "mip", "install", "--target", "lib", "--index", index,
                       "packages/ccrdt-mqtt/package.json", "packages/ccrdt-udp/package.json")
        assert "Installing umqtt.simple" in out, out  # the dep, by name, from the index
        # without --target: the board's sys.path names its /lib, as a board's does
        out = mpremote(board, "mip", "install", "packages/ccrdt-workload/package.json")
        assert "Installing: %s/lib/ccrdt/workload.py" % board.dir in out, out
        config = {"node": NAME, "fleet": 1, "key_file": "fleet.key",
                  "transports": ["udp", "mqtt"], "udp": {"port": free_ports(1)[0], "peers": []},
                  "mqtt": {"broker": "%s:%d" % (b.host, b.port)},
                  "monitor": "127.0.0.1:%d" % host.mon_port,
                  "gossip_ms": 200, "snapshot_ms": 500, "status_ms": 300,
                  "workload": {"module": "ccrdt.workload", "interval_ms": 100, "run_ms": 1500}}
        (tmp_path / "config.json").write_text(json.dumps(config))
        mpremote(board, "fs", "cp", os.path.join(ROOT, "firmware", "main.py"), ":main.py", "+",
                 "fs", "cp", str(tmp_path / "config.json"), ":config.json", "+",
                 "fs", "cp", key, ":fleet.key")
        mpremote(board, "exec", "--no-follow", "import machine; machine.reset()")

        def agreed():
            with gw.lock:
                h, held = gw.node.state_hash(), gw.node.state.constraints.contains(NAME + ":hot")
            live = host.mon.named().get(NAME)
            return held and live and not live["flags"] and live["hash"] == h
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not agreed():
            time.sleep(0.3)
        assert agreed(), "%s\n--- console:\n%s" % (host.mon.line(), board.console_tail(3000))
    finally:
        board.stop()
    installed = sorted(os.path.relpath(os.path.join(d, f), board.dir)
                       for d, _, files in os.walk(board.dir) for f in files)
    # what mip put there, beside what was copied by hand and what the node wrote
    lib = [f for f in installed if f.startswith("lib/")]
    assert "lib/umqtt/simple.mpy" in lib and "lib/ccrdt/transport/mqtt.py" in lib, installed
    assert "lib/ccrdt/workload.py" in lib and "lib/ccrdt/transport/espnow.py" not in lib
    assert not [f for f in installed if f.startswith("ccrdt/")], installed
    assert "state.bin" in installed

"""Integration: fleets of real `micropython` processes over UDP on loopback,
with faults injected by the relay.  Each run is bounded and stops itself.
The fleets run on hostenv.MICROPYTHON; the one with loss, kill -9 and restart
also on the 32-bit MicroPython."""
import asyncio
import os
import sys

import pytest

from interp import BOTH, ROOT

sys.path.insert(0, os.path.join(ROOT, "tools"))
import fleet as fleet_tool  # noqa: E402
import hostenv  # noqa: E402


def run(tmp_path, n=4, duration=4, events=(), settle=40, transport="udp", interp=hostenv.MICROPYTHON, **faults):
    f = fleet_tool.Fleet(n, duration, seed=3, root=str(tmp_path / "fleet"), gossip_ms=200,
                         snapshot_ms=500, status_ms=300, faults=fleet_tool.Faults(3, **faults),
                         log=lambda *a: None, transport=transport, micropython=interp)
    return f, asyncio.run(asyncio.wait_for(f.run(events, settle_timeout=settle), 120))


def assert_healthy(s):
    """Converged, equal snapshots, every count arrived; no node died or
    logged an error."""
    assert not s["problems"], s["problems"]
    assert s["converged"], s
    assert s["snapshots_equal"], s
    assert s["counts_match"], s


def test_fleet_converges_and_every_count_arrives(tmp_path):
    f, s = run(tmp_path)
    assert_healthy(s)
    assert s["constraints"] >= f.n and s["satisfied"] > 0
    assert s["dropped"] == 0


def test_lossy_duplicating_reordering_network(tmp_path):
    f, s = run(tmp_path, loss=0.3, dup=0.2, reorder_ms=40)
    assert s["dropped"] > 0  # the relay really dropped frames
    assert_healthy(s)


@pytest.mark.parametrize("interp", BOTH)
def test_kill_9_and_restart_from_flash(tmp_path, interp):
    f, s = run(tmp_path, events=[(2.0, fleet_tool.kill_and_restart(1, 0.5))], loss=0.1, interp=interp)
    assert_healthy(s)
    log = f.logs(1)
    assert log.count("node n01 up:") == 2  # it really died and came back
    # count_problems (in counts_match) checked that the second life started
    # from the last commit of the first: no committed increment was lost.


def test_partition_then_heal(tmp_path):
    half = set(range(2))
    seen = []

    def during(fleet):
        live = fleet.mon.live()
        seen.append(set(v["hash"] for v in live.values()))
    f, s = run(tmp_path, duration=2, events=[(3.5, during)], partition=(0.5, 4.0, half))
    assert len(seen[0]) >= 2  # the halves disagreed while cut apart
    assert_healthy(s)


def test_espnow_fleet_over_the_radio_stand_in_with_loss(tmp_path):
    f, s = run(tmp_path, transport="espnow", loss=0.2)
    assert s["dropped"] > 0
    assert_healthy(s)

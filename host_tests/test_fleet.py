"""Integration: fleets of real `micropython` processes over UDP on loopback,
with faults injected by the relay.  Each run is bounded and stops itself.
The fleets run on hostenv.MICROPYTHON; the one with loss, kill -9 and restart
also on the 32-bit MicroPython, two sites and a heap budget on the 32-bit one
with the firmware frozen in (tools/frozen.py)."""
import asyncio

import pytest

from interp import BOTH

import fleet as fleet_tool
import frozen
import hostenv


def run(tmp_path, n=4, duration=4, events=(), settle=40, transport="udp",
        interp=hostenv.MICROPYTHON, twin=False, lan=False, sites=1, broker=None, **faults):
    f = fleet_tool.Fleet(n, duration, seed=3, root=str(tmp_path / "fleet"), gossip_ms=200,
                         snapshot_ms=500, status_ms=300, faults=fleet_tool.Faults(3, **faults),
                         log=lambda *a: None, transport=transport, micropython=interp, twin=twin,
                         lan=lan, sites=sites, broker=broker)
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


def test_chaos_replaced_board_and_two_boards_with_one_name(tmp_path):
    """Loss, duplication, reordering, a partition, a kill -9, a board
    replaced with an empty flash and two boards given one name: every
    incarnation of every board holds what it committed, and the clash is
    reported by both boards."""
    f, s = run(tmp_path, n=5, duration=5, twin=True, loss=0.2, dup=0.1, reorder_ms=30,
               partition=(1.0, 2.5, set(range(2))),
               events=[(1.5, fleet_tool.kill_and_restart(1, 0.5)),
                       (3.0, fleet_tool.replace_board(2, 0.5))])
    assert_healthy(s)
    assert s["clashes"] == ["n00"]
    assert len(f.wiped) == 1  # n02's first incarnation: its row stays in the fleet
    (i, old), = f.wiped
    _, committed = f.incarnations(2)
    assert len(committed) == 2 and old in committed  # the new board is a new incarnation
    # What the old board had told the fleet survived it; at most its last
    # commit, made just before the flash was wiped, had reached no peer.
    assert f.unsent < sum(committed[old])


@pytest.mark.parametrize("interp", BOTH)
def test_kill_9_and_restart_from_flash(tmp_path, interp):
    f, s = run(tmp_path, events=[(2.0, fleet_tool.kill_and_restart(1, 0.5))], loss=0.1,
               interp=interp)
    assert_healthy(s)
    log = f.logs(1)
    assert log.count("node n01 up:") == 2  # it really died and came back
    # count_problems (in counts_match) checked that the second life started
    # from the last commit of the first: no committed increment was lost.


def test_a_frozen_32_bit_fleet_keeps_its_heap_budget(tmp_path, frozen32):
    """Eight nodes at full capacity (32 x 64) on the 32-bit build with the
    firmware frozen in, as a board's firmware has it, over a lossy network:
    healthy, and no node keeps more of its 110 000-byte heap than the
    budget while the fleet converges (STATUS: after gc.collect())."""
    f, s = run(tmp_path, n=8, duration=4, interp=frozen32, loss=0.1)
    assert_healthy(s)
    assert not f.code  # main.py alone on the flash: the code ran from the image
    assert f.heap == 110000 and f.config(0)["max_nodes"] == 32
    assert 0 < s["heap_used_max"] <= frozen.BUDGET, s["heap_used_max"]


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


def test_a_udp_fleet_with_no_peer_lists_converges(tmp_path):
    """No node is told of any other: each broadcasts on its LAN segment and
    learns its peers from the authenticated frames it hears."""
    f, s = run(tmp_path, n=5, lan=True, loss=0.2)
    assert s["dropped"] > 0
    assert_healthy(s)
    for i in range(f.n):
        assert "peers" not in f.config(i)["udp"]


@pytest.mark.usefixtures("umqtt_lib")  # the gateways' MQTT client: a skip if it is missing
@pytest.mark.parametrize("interp", ["mp64", "mp32-frozen"])
def test_two_sites_converge_through_a_real_broker_outage_kill_and_forgery(tmp_path, interp,
                                                                        broker, request):
    """Two radio clusters with no radio path between them, a gateway each,
    joined through a real MQTT broker that is stopped and started again;
    a gateway is killed -9 and restarted; an outsider without the key
    publishes on the gateways' topic.  Nothing is lost, the forged frames
    are refused and counted.  On 32 bits the firmware is frozen, as on a
    board: as .mpy files a full-capacity ESP-NOW node has only about 6 KB
    of a 110 000-byte heap left (docs/figures.md), too little to run with."""
    interp = (hostenv.tool("micropython") if interp == "mp64"
              else request.getfixturevalue("frozen32"))
    f, s = run(tmp_path, n=6, duration=5, sites=2, loss=0.1, interp=interp, broker=broker,
               events=[(1.0, fleet_tool.inject_forged), (1.5, fleet_tool.broker_outage(1.5)),
                       (3.5, fleet_tool.kill_and_restart(3, 0.5))])
    assert_healthy(s)
    assert s["broker_starts"] == 2 and s["broker_frames"] > 0
    assert [f.gateway(i) for i in range(6)] == [True, False, False, True, False, False]
    assert set(f.config(1)["transports"]) == {"espnow"}  # only gateways reach the broker
    assert f.logs(3).count("node n03 up:") == 2  # the gateway really died and came back
    # n00, never restarted, counted them all: reason 5 a bad MAC (the forged
    # frame), reason 1 the two payloads longer than a frame (read in bounded
    # chunks: the 32-bit gateway stays connected), the noise another reason
    # (2 or 3: magic, version).
    by, = [v["rejected_by"] for v in f.mon.live(max_age=30).values() if v["name"] == "n00"]
    assert len(by) >= 5 and by[4] >= 1 and by[0] >= 2 and sum(by) >= 4, by
    assert f.logs(0).count("connection lost") == 1  # the broker's outage, nothing else

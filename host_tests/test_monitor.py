"""The monitor (a host tool) takes each STATUS frame once: a recorded one
sent again moves nothing, however old."""
from monitor import Monitor

from ccrdt.gossip import GossipNode
from ccrdt.proto import REPLAYED
from ccrdt.status import FIELDS as STATUS_FIELDS
from ccrdt.status import write

KEY = bytes(range(16))


def status(node, values, name=b"n1"):
    buf = bytearray(250)
    return bytes(buf[:write(node.framer, buf, values, name)])


def values(rx):
    v = dict.fromkeys(STATUS_FIELDS, 0)
    v.update(rx=rx, rejected_by=[])
    return v


def test_a_replayed_status_moves_nothing():
    n1 = GossipNode("n1", KEY)
    early, late = status(n1, values(5)), status(n1, values(11))
    mon = Monitor(KEY)
    mon.take(early, "a")
    mon.take(late, "a")
    seen = mon.nodes[n1.state.tag]["seen"]
    mon.take(early, "an outsider")  # the old report again: counters would roll back
    mon.take(late, "an outsider")
    s = mon.nodes[n1.state.tag]
    assert s["rx"] == 11 and s["seen"] == seen  # not revived, not rolled back
    assert mon.refused == 2 and "replayed" in mon.last_refusal
    assert REPLAYED == 10


def test_a_full_node_table_says_how_much_of_it_earlier_lives_hold():
    n1 = GossipNode("n1", KEY)
    mon = Monitor(KEY)
    v = values(1)
    v.update(nodes=16, max_nodes=16, max_constraints=64, repeated=9)
    mon.datagram_received(status(n1, v), ("127.0.0.1", 1))
    assert "n1: node table full (16), 9 of its slots held by names with several" in mon.line()
    v.update(rx=2, nodes=12, repeated=4)  # not full: the column says it
    mon.datagram_received(status(n1, v), ("127.0.0.1", 1))
    assert mon.named()["n1"]["repeated"] == 4 and "node table full" not in mon.line()


def test_a_restarted_monitor_still_takes_no_recorded_status(tmp_path):
    seen = str(tmp_path / "seen.json")
    n1 = GossipNode("n1", KEY)
    frames = [status(n1, values(rx)) for rx in (5, 6, 7, 8)]
    mon = Monitor(KEY, seen=seen)
    mon.take(frames[0], "a")
    mon.take(frames[3], "a")  # 6 and 7 were lost on the way
    mon.save()
    again = Monitor(KEY, seen=seen)  # the monitor started anew
    for f in frames:  # all recorded: none shows a board that may be gone
        again.take(f, "an outsider")
    assert again.nodes == {} and again.refused == 4 and "replayed" in again.last_refusal
    again.take(status(n1, values(9)), "a")  # the board's next report
    assert again.nodes[n1.state.tag]["rx"] == 9


def test_a_monitor_keeps_no_seen_file_but_its_own():
    from monitor import seen_file
    assert seen_file(KEY, 1) != seen_file(bytes(16), 1) != seen_file(KEY, 2)
    assert seen_file(KEY, 1) == seen_file(bytes(KEY), 1)


def test_a_broken_seen_file_is_refused_in_one_line(tmp_path):
    import subprocess
    import sys
    key = tmp_path / "fleet.key"
    key.write_bytes(KEY)
    for text in ("{not json", '{"newest": [[1, 2]]}', '{"newest": [[-1, 1, 1]]}', "[]"):
        seen = tmp_path / "seen.json"
        seen.write_text(text)
        try:
            Monitor(KEY, seen=str(seen))
            raise AssertionError("taken: %r" % text)
        except ValueError as e:
            assert str(seen) in str(e) and "remove it" in str(e)
        r = subprocess.run([sys.executable, "tools/monitor.py", "--key", str(key), "--port", "0",
                            "--seen", str(seen)], capture_output=True, text=True, timeout=60)
        assert r.returncode == 1 and r.stderr.count("\n") == 1, r.stderr
        assert r.stderr.startswith("monitor: %s is not a monitor's file" % seen), r.stderr


def test_a_seen_file_that_cannot_be_written_is_said_once(tmp_path, capsys):
    blocked = tmp_path / "a file"
    blocked.write_text("")
    mon = Monitor(KEY, seen=str(blocked / "seen.json"))  # its folder is a file
    n1 = GossipNode("n1", KEY)
    for rx in (1, 2):
        mon.take(status(n1, values(rx)), "a")
        mon.save()
    assert mon.nodes[n1.state.tag]["rx"] == 2
    assert capsys.readouterr().err.count("monitor: cannot keep") == 1


def test_the_view_never_goes_back_to_an_older_status():
    n1 = GossipNode("n1", KEY)
    frames = [status(n1, values(rx)) for rx in (5, 6, 7, 8)]
    mon = Monitor(KEY)
    mon.take(frames[0], "a")
    mon.take(frames[3], "a")  # 6 and 7 lost on the way here
    mon.take(frames[1], "an outsider")  # never seen, but older than the one shown
    assert mon.nodes[n1.state.tag]["rx"] == 8 and mon.refused == 1
    assert "older than the STATUS shown" in mon.last_refusal


def test_tools_sharing_a_seen_file_keep_each_others_boards(tmp_path):
    seen = str(tmp_path / "seen.json")
    x, y = GossipNode("x", KEY), GossipNode("y", KEY)
    fx, fy = status(x, values(1), b"x"), status(y, values(1), b"y")
    udp, broker = Monitor(KEY, seen=seen), Monitor(KEY, seen=seen)
    udp.take(fx, "a")  # each tool hears a board the other does not
    broker.take(fy, "b")
    udp.save()
    broker.save()  # last: it keeps the rows the first wrote
    again = Monitor(KEY, seen=seen)
    again.take(fx, "an outsider")
    again.take(fy, "an outsider")
    assert again.nodes == {} and again.refused == 2


def test_a_monitor_stopped_by_sigterm_keeps_what_it_saw(tmp_path):
    import socket
    import subprocess
    import sys
    import time
    key = tmp_path / "fleet.key"
    key.write_bytes(KEY)
    seen = str(tmp_path / "seen.json")
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    p = subprocess.Popen([sys.executable, "tools/monitor.py", "--key", str(key), "--port",
                          str(port), "--seen", seen], stdout=subprocess.PIPE, text=True)
    n1 = GossipNode("n1", KEY)
    frames = [status(n1, values(rx)) for rx in (1, 2, 3)]
    out = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    assert p.stdout.readline().startswith("monitor:")  # its first line: it listens
    for f in frames:
        out.sendto(f, ("127.0.0.1", port))
        time.sleep(0.2)
    p.terminate()
    assert p.wait(20) == 0
    again = Monitor(KEY, seen=seen)
    for f in frames:
        again.take(f, "an outsider")
    assert again.nodes == {} and again.refused == 3


def test_a_broken_key_file_ends_each_watching_tool_in_one_line(tmp_path):
    import subprocess
    import sys
    key = tmp_path / "fleet.key"
    key.write_text("abc\n")  # 3 hex digits
    for tool, where in (("monitor.py", ["--port", "0"]),
                        ("fleet_state.py", ["--broker", "127.0.0.1:1"]),
                        ("ha_bridge.py", ["--broker", "127.0.0.1:1"]),
                        ("observer.py", ["--broker", "127.0.0.1:1"])):
        r = subprocess.run([sys.executable, "tools/" + tool, "--key", str(key)] + where,
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 1 and r.stderr.count("\n") == 1, (tool, r.stderr)
        assert "3 hex digits, expected 32" in r.stderr and "Traceback" not in r.stderr, r.stderr

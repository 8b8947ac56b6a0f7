"""umqtt.simple reaches a gateway as a user gets it: from an offline copy
of micropython-lib (MPLIB=path), or downloaded by the unix port's own mip
from an index laid out as micropython.org's (here one served on loopback,
made from MPLIB's copy); where neither works, one line that says what to do."""
import functools
import http.server
import threading

import mipindex
import pytest

import fleet
import hostenv


@pytest.fixture
def index(tmp_path, umqtt_source):
    """(URL, the .mpy it serves): umqtt.simple in an index laid out as
    micropython.org's (host_tests/mipindex.py), served over HTTP on loopback."""
    data = mipindex.compiled(umqtt_source, str(tmp_path / "simple.mpy"))
    root = mipindex.build(str(tmp_path / "index"), "umqtt.simple", {"umqtt/simple.mpy": data})
    quiet = type("Quiet", (http.server.SimpleHTTPRequestHandler,),
                 {"log_message": lambda *a: None})
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(quiet, directory=root))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield "http://127.0.0.1:%d" % server.server_address[1], data
    finally:
        server.shutdown()
        server.server_close()


def closed_port():
    from broker import free_tcp_port
    return "http://127.0.0.1:%d" % free_tcp_port()


def test_mplib_copy_is_compiled_into_lib(tmp_path, umqtt_source):
    hostenv.install_umqtt(str(tmp_path / "lib"))
    assert (tmp_path / "lib" / "umqtt" / "simple.mpy").read_bytes()[:1] == b"M"


def test_without_mplib_mip_downloads_it_once_and_later_runs_reuse_it(tmp_path, monkeypatch,
                                                                      index):
    url, served = index
    monkeypatch.delenv("MPLIB")
    cache = str(tmp_path / "cache")
    hostenv.install_umqtt(str(tmp_path / "lib1"), cache, url)
    assert (tmp_path / "lib1" / "umqtt" / "simple.mpy").read_bytes() == served
    # offline now: what mip downloaded is reused
    hostenv.install_umqtt(str(tmp_path / "lib2"), cache, closed_port())
    assert (tmp_path / "lib2" / "umqtt" / "simple.mpy").read_bytes() == served


def test_neither_mplib_nor_a_reachable_index_is_one_line(tmp_path, monkeypatch):
    monkeypatch.delenv("MPLIB", raising=False)
    with pytest.raises(hostenv.Missing) as e:
        hostenv.install_umqtt(str(tmp_path / "lib"), str(tmp_path / "cache"), closed_port())
    line = str(e.value)
    assert "\n" not in line and "mip could not download it" in line and "MPLIB=" in line, line
    assert not (tmp_path / "cache").exists()  # nothing half-installed is taken for a copy
    monkeypatch.setenv("MPLIB", str(tmp_path))
    with pytest.raises(hostenv.Missing, match="MPLIB=.* has no umqtt.simple"):
        hostenv.install_umqtt(str(tmp_path / "lib"))


def test_two_site_demo_without_umqtt_ends_in_one_line(tmp_path, monkeypatch, capsys):
    """What `make demo SITES=2` prints on a machine with no copy and no
    network: one line naming what is missing and what to do, exit status 2,
    before any node starts."""
    monkeypatch.delenv("MPLIB", raising=False)
    monkeypatch.setenv("MIP_INDEX", closed_port())
    monkeypatch.setattr(hostenv, "MIP_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(fleet, "ROOT", str(tmp_path))  # its build/fleet, not the repository's
    assert fleet.main(["--sites", "2", "--nodes", "4", "--plain"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("fleet: umqtt.simple"), err
    assert "MPLIB=path/to/micropython-lib" in err

"""Strict config at deploy and at boot: every board's config validates; a
mistake, in the board's config or a --set, is refused before anything
touches a board, in one line naming the board's config as the user gave it;
a board whose config is wrong says so in one line and does not start."""
import json
import os
import subprocess
import sys

import pytest
from interp import ROOT, tool

import deploy
import hostenv
import package
from hostenv import SHIM

from ccrdt.config import ConfigError

BOARDS = sorted(d for d in os.listdir(os.path.join(ROOT, "boards"))
                if os.path.exists(os.path.join(ROOT, "boards", d, "config.json")))


@pytest.fixture
def key(tmp_path):
    path = str(tmp_path / "fleet.key")
    deploy.new_key(path)
    return path


def stage_error(tmp_path, key, board, *sets):
    out = tmp_path / "stage"
    out.mkdir(exist_ok=True)
    msg = str(pytest.raises(ConfigError, deploy.stage, board, "n1", key, str(out), sets).value)
    assert str(tmp_path) not in msg and "/tmp" not in msg, msg  # never the staged copy
    return msg


def run_deploy(key, *args):
    """tools/deploy.py deploy on a port that does not exist: (exit code, stderr)."""
    r = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "deploy.py"), "deploy",
                        "--port", "/nonexistent/tty", "--node", "n1", "--key", key] + list(args),
                       capture_output=True, text=True, timeout=120)
    return r.returncode, r.stderr


@pytest.mark.parametrize("board", BOARDS)
def test_every_board_config_validates_and_refuses_a_misspelt_set(tmp_path, key, board):
    assert set(BOARDS) >= {"esp32_c3", "esp32_generic", "esp32_s3", "unix"}
    out = tmp_path / "ok"
    out.mkdir()
    with open(deploy.stage(board, "n1", key, str(out), ["gossip_ms=500"])) as f:
        assert json.load(f)["gossip_ms"] == 500
    msg = stage_error(tmp_path, key, board, "gossip_msec=5")
    assert msg == ("boards/%s/config.json with --set gossip_msec=5: unknown field 'gossip_msec' "
                   "(did you mean 'gossip_ms'?)" % board), msg


def test_set_reaches_nested_fields_and_they_are_checked(tmp_path, key):
    out = tmp_path / "ok"
    out.mkdir()
    with open(deploy.stage("unix", "n1", key, str(out), ["espnow.channel=6"])) as f:
        assert json.load(f)["espnow"] == {"channel": 6, "peers": []}
    msg = stage_error(tmp_path, key, "unix", "espnow.chanel=6")
    assert "'espnow.chanel'" in msg and "did you mean 'espnow.channel'?" in msg, msg
    msg = stage_error(tmp_path, key, "unix", 'transports=["udp"]', "udp.port=9000", "udp.peer=[]")
    assert msg.startswith("boards/unix/config.json with --set") and "'udp.peer'" in msg, msg
    assert "did you mean 'udp.peers'?" in msg, msg
    msg = stage_error(tmp_path, key, "unix", "node.x=1")
    assert "--set node.x: 'node' is not an object" in msg, msg


def test_set_takes_a_bare_string_where_a_string_is_meant(tmp_path, key):
    out = tmp_path / "ok"
    out.mkdir()
    with open(deploy.stage("unix", "n1", key, str(out), ["monitor=127.0.0.1:47999"])) as f:
        assert json.load(f)["monitor"] == "127.0.0.1:47999"
    msg = stage_error(tmp_path, key, "unix", "espnow.channel=six")  # a string, not a channel
    assert msg.startswith("boards/unix/config.json with --set espnow.channel=six: "), msg
    assert "channel" in msg and "not JSON" not in msg, msg


def test_deploy_names_the_board_config_the_mac_and_the_module(key):
    rc, err = run_deploy(key, "--board", "unix", "--set", 'espnow.peers=["zz:zz:zz:zz:zz:zz"]')
    assert rc == 2, err
    assert err.startswith("deploy: boards/unix/config.json with --set espnow.peers="), err
    assert "'espnow.peers[0]'" in err and "six pairs of hex digits" in err, err
    assert "Traceback" not in err, err
    rc, err = run_deploy(key, "--board", "esp32_generic",
                         "--set", "workload.module=\"ccrdt.nosuch\"")
    assert rc == 2 and err.startswith("deploy: boards/esp32_generic/config.json with --set"), err
    assert "'workload.module'" in err and "'ccrdt.nosuch'" in err and "does not import" in err, err


def test_deploy_refuses_an_unknown_board_and_a_non_hex_key(tmp_path, key):
    rc, err = run_deploy(key, "--board", "nosuch")
    assert rc == 2 and "unknown board 'nosuch'" in err and "Traceback" not in err, err
    bad = tmp_path / "bad.key"
    bad.write_bytes(b"z" * 32 + b"\n")
    rc, err = run_deploy(str(bad), "--board", "unix")
    assert rc == 2 and str(bad) in err, err
    assert "not hex: 32 characters, expected 32 hex digits" in err, err


def test_a_board_with_a_bad_config_says_so_in_one_line(tmp_path, key):
    """firmware/main.py on the unix port (the ESP-NOW stand-in on its path):
    the mistakes that used to end in a traceback are one config error line."""
    cases = (("espnow.peers[0]", {"espnow": {"channel": 1, "peers": ["zz:zz:zz:zz:zz:zz"]}}),
             ("workload.module", {"workload": {"module": "ccrdt.nosuch"}}),
             ("gossip_msec", {"gossip_msec": 5}))
    for i, (field, change) in enumerate(cases):
        d = tmp_path / ("b%d" % i)
        d.mkdir()
        with open(os.path.join(ROOT, "boards", "unix", "config.json")) as f:
            cfg = json.load(f)
        cfg["node"] = "n1"
        cfg.update(change)
        (d / "config.json").write_text(json.dumps(cfg))
        (d / "fleet.key").write_bytes(open(key, "rb").read())
        env = dict(os.environ, MICROPYPATH=SHIM + ":.frozen:" + os.path.join(ROOT, "firmware"),
                   CCRDT_MAC="020000000001", CCRDT_AIR="127.0.0.1:9")
        r = subprocess.run([tool("micropython"), os.path.join(ROOT, "firmware", "main.py")],
                           cwd=str(d), env=env, capture_output=True, text=True, timeout=30,
                           stdin=subprocess.DEVNULL)
        lines = (r.stdout + r.stderr).strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("config error: config.json: "), lines
        assert "'%s'" % field in lines[0], lines


def test_a_board_gets_the_components_its_config_needs():
    with open(os.path.join(ROOT, "boards", "esp32_generic", "config.json")) as f:
        cfg = json.load(f)
    assert deploy.needs(cfg) == {"ccrdt-node", "ccrdt-espnow", "ccrdt-workload"}
    cfg.update(monitor="10.0.0.2:47999", workload=None)  # STATUS goes over UDP
    assert deploy.needs(cfg) == {"ccrdt-node", "ccrdt-espnow", "ccrdt-udp"}
    cfg.update(transports=["mqtt"], monitor=None, workload={"module": "app.sensors"})
    assert deploy.needs(cfg) == {"ccrdt-node", "ccrdt-mqtt"}
    cfg["transports"] = ["lora"]
    msg = str(pytest.raises(deploy.DeployError, deploy.needs, cfg).value)
    assert "ccrdt/transport/lora.py" in msg, msg


def test_a_build_holds_what_the_config_needs_and_that_runs(tmp_path):
    """A UDP node without a workload: the core, gossip, the node and UDP, as
    .mpy; they import on the unix port with nothing else on its path."""
    out = str(tmp_path / "mpy")
    sizes = deploy.build("unix", out, deploy.needs({"transports": ["udp"]}))
    names = {rel.rsplit("/", 1)[-1] for rel in sizes}
    assert {"state.mpy", "gossip.mpy", "boot.mpy", "config.mpy", "udp.mpy"} <= names, names
    assert not names & {"espnow.mpy", "mqtt.mpy", "workload.mpy", "simple.mpy"}, names
    assert all(rel.endswith(".mpy") and os.path.getsize(os.path.join(out, rel)) == n
               for rel, n in sizes.items())
    script = ("import ccrdt.boot, ccrdt.transport.udp\nprint('imported')\n"
              "try:\n import ccrdt.workload\nexcept ImportError:\n print('no workload')\n")
    r = subprocess.run([tool("micropython"), "-c", script],
                       env=dict(os.environ, MICROPYPATH=".frozen:" + out),
                       cwd=str(tmp_path), capture_output=True, text=True, timeout=30)
    assert r.stdout.split() == ["imported", "no", "workload"], r.stdout + r.stderr


def test_a_build_by_default_holds_every_component(tmp_path):
    """What the virtual fleet loads: every module of firmware/ccrdt, and
    umqtt.simple where MPLIB names a copy of micropython-lib."""
    sizes = deploy.build("unix", str(tmp_path / "mpy"))
    mods = {rel[:-4] + ".py" for rel in sizes}
    assert {dest for dest in package.owners()} <= mods
    assert ("umqtt/simple.py" in mods) == bool(hostenv.mplib_package("umqtt.simple")), \
        sorted(mods)

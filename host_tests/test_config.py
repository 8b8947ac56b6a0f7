"""Board config validation: one clear message naming the file and the field."""
import json
import os

from ccrdt.config import ConfigError, load, read_key
from check import raises

TMP = "build/test_config"
GOOD = {"node": "n1", "key_file": "fleet.key",
        "udp": {"port": 9001, "peers": [{"node": "n2", "addr": "127.0.0.1:9002"}]}}


def write(cfg, key=b"0123456789abcdef"):
    try:
        os.mkdir("build")
    except OSError:
        pass
    try:
        os.mkdir(TMP)
    except OSError:
        pass
    with open(TMP + "/fleet.key", "wb") as f:
        f.write(key)
    path = TMP + "/config.json"
    with open(path, "w") as f:
        f.write(cfg if isinstance(cfg, str) else json.dumps(cfg))
    return path


def error_of(cfg, **kw):
    return str(raises(ConfigError, load, write(cfg, **kw)))


def with_(**fields):
    c = dict(GOOD)
    c.update(fields)
    return c


def test_good_config_and_defaults():
    c = load(write(GOOD))
    assert c["node"] == "n1" and c["key"] == b"0123456789abcdef"
    assert c["udp"]["peers"] == [("n2", ("127.0.0.1", 9002))]
    assert c["gossip_ms"] == 1000 and c["max_nodes"] == 32 and c["max_constraints"] == 64


def test_hex_key_file():
    c = load(write(GOOD, key=b"00112233445566778899aabbccddeeff\n"))
    assert c["key"] == bytes(range(0, 256, 17))


def test_each_broken_field_is_named_with_the_file():
    cases = [
        (with_(node=""), "'node'"),
        (with_(node=5), "'node'"),
        (with_(fleet=70000), "'fleet'"),
        (with_(gossip_ms="fast"), "'gossip_ms'"),
        (with_(transports=["lora"]), "'transports'"),
        (with_(udp={"peers": []}), "'udp.port'"),
        (with_(udp={"port": 9001, "peers": [{"node": "n2", "addr": "nowhere"}]}), "'udp.peers[0].addr'"),
        (with_(monitor="localhost"), "'monitor'"),
        (with_(key_file=None), "'key_file'"),
        (with_(workload=[1]), "'workload'"),
    ]
    for cfg, field in cases:
        msg = error_of(cfg)
        assert field in msg and TMP + "/config.json" in msg, msg


def test_bad_json_bad_key_and_missing_file():
    assert "not valid JSON" in error_of("{node: n1")
    assert "16 bytes" in error_of(GOOD, key=b"short")
    assert "cannot read" in str(raises(ConfigError, load, TMP + "/missing.json"))
    assert "cannot read" in str(raises(ConfigError, read_key, TMP + "/missing.key"))

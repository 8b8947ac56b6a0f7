"""Board config validation: one clear message naming the file and the field."""
import json
import os

from check import raises

from ccrdt.config import ConfigError, distance, load, nearest, parse_mac, read_key

TMP = "build/test_config"
GOOD = {"node": "n1", "key_file": "fleet.key",
        "udp": {"port": 9001, "peers": [{"node": "n2", "addr": "127.0.0.1:9002"}]}}


def write(cfg, key=b"raw-key-16-bytes"):
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
    assert c["node"] == "n1" and c["key"] == b"raw-key-16-bytes"
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
        (with_(udp={"port": 9001, "peers": [{"node": "n2", "addr": "nowhere"}]}),
         "'udp.peers[0].addr'"),
        (with_(monitor="localhost"), "'monitor'"),
        (with_(key_file=None), "'key_file'"),
        (with_(workload=[1]), "'workload'"),
    ]
    for cfg, field in cases:
        msg = error_of(cfg)
        assert field in msg and TMP + "/config.json" in msg, msg


def test_bad_json_bad_key_and_missing_file():
    assert "not valid JSON" in error_of("{node: n1")
    assert "not hex: 5 characters" in error_of(GOOD, key=b"short")
    assert "cannot read" in str(raises(ConfigError, load, TMP + "/missing.json"))
    assert "cannot read" in str(raises(ConfigError, read_key, TMP + "/missing.key"))


def refused(cfg, field, *words):
    """The error for cfg names the file and the field, and says words."""
    msg = error_of(cfg)
    assert TMP + "/config.json" in msg and "'%s'" % field in msg, msg
    for w in words:
        assert w in msg, (w, msg)
    return msg


def test_edit_distance_and_nearest_name():
    assert distance("gossip_msec", "gossip_ms") == 2
    assert distance("gosisp_ms", "gossip_ms") == 1  # a swap is one edit
    assert distance("", "abc") == 3 and distance("abc", "") == 3 and distance("peer", "peer") == 0
    assert distance("kitten", "sitting") == 3
    assert nearest("udp_port", ("port", "peers")) is None
    assert nearest("peer", ("port", "peers")) == "peers"
    assert nearest("colour", ("node", "fleet", "monitor")) is None
    assert nearest("address", ("node", "addr")) == "addr"
    assert nearest("gossip", ("gossip_ms", "jitter_ms")) == "gossip_ms"


def test_unknown_fields_at_every_level_name_the_nearest_known_one():
    peer = {"node": "n2", "address": "127.0.0.1:9002"}
    refused(with_(gossip_msec=5), "gossip_msec", "unknown field", "did you mean 'gossip_ms'?")
    refused(with_(udp={"port": 9001, "peer": [peer]}), "udp.peer", "did you mean 'udp.peers'?")
    refused(with_(udp={"port": 9001, "peers": [peer]}), "udp.peers[0].address",
            "did you mean 'udp.peers[0].addr'?")
    refused(with_(transports=["espnow"], espnow={"chanel": 6}), "espnow.chanel",
            "did you mean 'espnow.channel'?")
    refused(with_(wifi={"ssid": "home", "pasword": "12345678"}), "wifi.pasword",
            "did you mean 'wifi.password'?")
    refused(with_(workload={"module": "workload_fields", "interval": 5}), "workload.interval",
            "did you mean 'workload.interval_ms'?")
    msg = refused(with_(colour="red"), "colour", "known fields: node, fleet")
    assert "did you mean" not in msg, msg


def test_mac_addresses_are_six_hex_pairs_as_the_firmware_parses_them():
    for mac in ("zz:zz:zz:zz:zz:zz", "aa:bb:cc:dd:ee", "aa-bb-cc-dd-ee-ff", "a:bb:cc:dd:ee:fff",
                "aa:bb:cc:dd:ee:ff:00", " a:bb:cc:dd:ee:ff", 0xaabbccddeeff):
        refused(with_(transports=["espnow"], espnow={"peers": ["02:00:00:00:00:01", mac]}),
                "espnow.peers[1]", "six pairs of hex digits")
    refused(with_(transports=["espnow"], espnow={"peers": ["ff:ff:ff:ff:ff:ff"]}),
            "espnow.peers[0]", "broadcast")
    # checked wherever the section is, even with ESP-NOW off
    refused(with_(espnow={"peers": ["zz:zz:zz:zz:zz:zz"]}), "espnow.peers[0]")
    text = "02:00:0A:ff:09:1c"
    c = load(write(with_(transports=["espnow"], espnow={"channel": 6, "peers": [text]})))
    assert c["espnow"] == {"channel": 6, "peers": [text]}
    # the transport's own parse gives the same six bytes
    assert (parse_mac(text) == bytes(int(x, 16) for x in text.split(":"))
            == b"\x02\x00\x0a\xff\x09\x1c")


def test_workload_module_imports_and_its_declared_fields_are_checked():
    refused(with_(workload={"module": "ccrdt.nosuch"}), "workload.module", "'ccrdt.nosuch'",
            "does not import")
    refused(with_(workload={"module": "ccrdt.fnv"}), "workload.module", "no Workload class")
    refused(with_(workload={"module": 5}), "workload.module")
    refused(with_(workload={"module": "workload_fields", "interval_ms": 0}),
            "workload.interval_ms", "1..60000")
    c = load(write(with_(workload={"module": "workload_fields", "interval_ms": 5,
                                   "label": [1]})))
    assert c["workload"]["interval_ms"] == 5
    c = load(write(with_(workload={"module": "ccrdt.workload", "interval_ms": 200})))
    assert c["workload"]


def test_wifi_and_host_values_have_the_form_the_board_uses():
    refused(with_(wifi={"ssid": ""}), "wifi.ssid", "1..32 bytes")
    refused(with_(wifi={"ssid": "s" * 33}), "wifi.ssid")
    refused(with_(wifi={"ssid": "home", "password": 12345678}), "wifi.password")
    refused(with_(monitor="bad host:47999"), "monitor")
    refused(with_(monitor="10.0.0.2:0"), "monitor")
    c = load(write(with_(wifi={"ssid": "home"}, monitor="gw.local:47999")))
    assert c["wifi"] == {"ssid": "home"} and c["monitor"] == ("gw.local", 47999)


def key_error(key):
    return str(raises(ConfigError, load, write(GOOD, key=key)))


def test_key_file_message_says_what_is_wrong():
    hex32 = b"00112233445566778899aabbccddeeff"
    msg = key_error(b"z" * 32 + b"\n")
    assert "not hex: 32 characters, expected 32 hex digits" in msg, msg
    assert "'z' at position 0" in msg, msg
    assert TMP + "/fleet.key" in msg and "'key_file'" in msg, msg
    assert "trailing newline is fine" in msg, msg
    assert "31 hex digits, expected 32" in key_error(hex32[:31] + b"\n")
    # 16 bytes that are hex digits: half a key typed, not 16 raw bytes
    assert "16 hex digits, expected 32" in key_error(hex32[:16])
    assert "15 hex digits, expected 32" in key_error(hex32[:15] + b"\n")
    assert "33 hex digits, expected 32" in key_error(hex32 + b"0")
    assert "0 hex digits, expected 32" in key_error(b"\n")
    assert "17 bytes, not text, expected 16 raw bytes" in key_error(bytes(range(17)))
    assert "'g' at position 3" in key_error(b"001g2233445566778899aabbccddeeff")
    for ok in (hex32 + b"\n", hex32 + b"\r\n", b"  " + hex32.upper()):
        assert load(write(GOOD, key=ok))["key"] == bytes(range(0, 256, 17))


def test_errors_name_the_config_as_the_caller_names_it():
    path = write(with_(gossip_msec=5))
    msg = str(raises(ConfigError, load, path, "boards/x/config.json"))
    assert msg.startswith("boards/x/config.json: unknown field 'gossip_msec'"), msg
    assert load(write(GOOD), "boards/x/config.json")["key"] == b"raw-key-16-bytes"


def test_an_mqtt_gateway_config_is_checked_as_its_topics_use_it():
    gw = {"transports": ["espnow", "mqtt"], "espnow": {"channel": 1}}
    c = load(write(with_(mqtt={"broker": "pi.local:1883"}, **gw)))
    assert c["mqtt"] == {"broker": ("pi.local", 1883), "prefix": "ccrdt/1", "user": None,
                         "password": None}
    refused(with_(mqtt={"broker": "pi.local"}, **gw), "mqtt.broker", "host:port")
    refused(with_(mqtt={"broker": "pi.local:1883", "prefix": "site/#"}, **gw), "mqtt.prefix",
            "wildcards")
    refused(with_(mqtt={"broker": "pi.local:1883", "prefix": "site/"}, **gw), "mqtt.prefix")
    refused(with_(mqtt={"brokr": "pi.local:1883"}, **gw), "mqtt.brokr", "mqtt.broker")
    for name in ("barn/1", "barn+", "barn#"):  # a topic level: would publish elsewhere
        refused(with_(node=name, mqtt={"broker": "pi.local:1883"}, **gw), "node", "MQTT")
    refused(with_(transports=["udp", "udp"]), "transports", "distinct")

"""Board configuration: one JSON file, validated field by field at start.

Every problem raises ConfigError naming the file and the field, so a board
that cannot start says why in one line.  Fields (defaults in brackets):

    node             this board's name, 1..16 bytes of UTF-8
    fleet            fleet id, 0..65535 [1]
    key_file         file with the 16-byte fleet key (raw, or 32 hex digits),
                     relative to the config file
    transports       list of "udp" and/or "espnow" [["udp"]]
    udp              {"port": int, "peers": [{"node": name, "addr": "host:port"}]}
    espnow           {"channel": 1..14, "peers": ["aa:bb:cc:dd:ee:ff", ...]}
    wifi             {"ssid": str, "password": str}: join this access point
                     before UDP starts (ESP32) [null]
    monitor          "host:port" that receives status frames over UDP [null]
    gossip_ms        interval between pings [1000]
    jitter_ms        random extra delay per ping [gossip_ms // 4]
    snapshot_ms      at most one flash write per this interval [5000]
    status_ms        interval of status lines and frames [2000]
    max_nodes        node table size [32]
    max_constraints  constraint table size [64]
    rx_queue         received frames held before processing [8]
    led_pin          GPIO of a status LED, or null [null]
    workload         {"module": name, ...its own fields} or null [null]
"""
import json

from ccrdt.state import id_bytes


class ConfigError(Exception):
    pass


def _bad(path, field, why):
    return ConfigError("%s: field '%s' %s" % (path, field, why))


def _int(cfg, path, field, lo, hi, default=None, prefix=""):
    v = cfg.get(field, default)
    if v is None or not isinstance(v, int) or isinstance(v, bool) or not lo <= v <= hi:
        raise _bad(path, prefix + field, "must be an integer in %d..%d, got %r" % (lo, hi, v))
    return v


def _addr(path, field, v):
    if not isinstance(v, str) or v.count(":") != 1:
        raise _bad(path, field, "must be \"host:port\", got %r" % (v,))
    host, port = v.split(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise _bad(path, field, "must be \"host:port\", got %r" % (v,))
    return host, int(port)


def _dirname(path):
    i = path.rfind("/")
    return path[:i + 1] if i >= 0 else ""


def read_key(path, field="key_file"):
    """The 16-byte fleet key from a file: raw bytes or 32 hex digits."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        raise ConfigError("%s: cannot read the fleet key file (field '%s')" % (path, field))
    text = data.strip()
    if len(text) == 32:
        try:
            import binascii
            return binascii.unhexlify(text)
        except ValueError:
            pass
    if len(data) == 16:
        return data
    raise ConfigError("%s: a fleet key is 16 bytes or 32 hex digits, this file has %d bytes"
                      % (path, len(data)))


def load(path):
    """The validated configuration of the file at path, as a dict."""
    try:
        with open(path) as f:
            text = f.read()
    except OSError:
        raise ConfigError("%s: cannot read the board config" % path)
    try:
        cfg = json.loads(text)
    except ValueError:
        raise ConfigError("%s: not valid JSON" % path)
    if not isinstance(cfg, dict):
        raise ConfigError("%s: the config must be a JSON object" % path)
    return validate(cfg, path)


def validate(cfg, path="<config>"):
    out = {}
    try:
        id_bytes(cfg.get("node"), "node")
    except (TypeError, ValueError) as e:
        raise _bad(path, "node", "is wrong: %s" % e)
    out["node"] = cfg["node"]
    out["fleet"] = _int(cfg, path, "fleet", 0, 0xFFFF, 1)
    kf = cfg.get("key_file")
    if not isinstance(kf, str) or not kf:
        raise _bad(path, "key_file", "must name the fleet key file")
    out["key"] = read_key(kf if kf.startswith("/") else _dirname(path) + kf)
    tr = cfg.get("transports", ["udp"])
    if not isinstance(tr, list) or not tr or any(t not in ("udp", "espnow") for t in tr):
        raise _bad(path, "transports", "must be a non-empty list of \"udp\" and \"espnow\"")
    out["transports"] = tr
    if "udp" in tr:
        u = cfg.get("udp")
        if not isinstance(u, dict):
            raise _bad(path, "udp", "must be an object with port and peers")
        peers = u.get("peers", [])
        if not isinstance(peers, list):
            raise _bad(path, "udp.peers", "must be a list")
        plist = []
        for i, p in enumerate(peers):
            f = "udp.peers[%d]" % i
            if not isinstance(p, dict):
                raise _bad(path, f, "must be {\"node\": name, \"addr\": \"host:port\"}")
            try:
                id_bytes(p.get("node"), "node")
            except (TypeError, ValueError) as e:
                raise _bad(path, f + ".node", "is wrong: %s" % e)
            plist.append((p["node"], _addr(path, f + ".addr", p.get("addr"))))
        out["udp"] = {"port": _int(u, path, "port", 1, 65535, prefix="udp."), "peers": plist}
    if "espnow" in tr:
        e = cfg.get("espnow")
        if not isinstance(e, dict):
            raise _bad(path, "espnow", "must be an object with channel and peers")
        peers = e.get("peers", [])
        if not isinstance(peers, list) or any(not isinstance(m, str) or len(m) != 17 for m in peers):
            raise _bad(path, "espnow.peers", "must be a list of \"aa:bb:cc:dd:ee:ff\" MAC addresses")
        out["espnow"] = {"channel": _int(e, path, "channel", 1, 14, 1, prefix="espnow."), "peers": peers}
    wifi = cfg.get("wifi")
    if wifi is not None and (not isinstance(wifi, dict) or not isinstance(wifi.get("ssid"), str)
                             or not isinstance(wifi.get("password", ""), str)):
        raise _bad(path, "wifi", "must be null or {\"ssid\": name, \"password\": secret}")
    out["wifi"] = wifi
    mon = cfg.get("monitor")
    out["monitor"] = None if mon is None else _addr(path, "monitor", mon)
    out["gossip_ms"] = _int(cfg, path, "gossip_ms", 20, 3600000, 1000)
    out["jitter_ms"] = _int(cfg, path, "jitter_ms", 0, 3600000, out["gossip_ms"] // 4)
    out["snapshot_ms"] = _int(cfg, path, "snapshot_ms", 0, 86400000, 5000)
    out["status_ms"] = _int(cfg, path, "status_ms", 100, 3600000, 2000)
    out["max_nodes"] = _int(cfg, path, "max_nodes", 2, 255, 32)
    out["max_constraints"] = _int(cfg, path, "max_constraints", 1, 254, 64)
    out["rx_queue"] = _int(cfg, path, "rx_queue", 1, 64, 8)
    led = cfg.get("led_pin")
    out["led_pin"] = None if led is None else _int(cfg, path, "led_pin", 0, 48)
    wl = cfg.get("workload")
    if wl is not None and (not isinstance(wl, dict) or not isinstance(wl.get("module"), str)):
        raise _bad(path, "workload", "must be null or an object with a \"module\" name")
    out["workload"] = wl
    return out

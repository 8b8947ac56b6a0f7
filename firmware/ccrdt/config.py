"""Board configuration: one JSON file, validated field by field at start.

Every problem raises ConfigError naming the file and the field, so a board
that cannot start says why in one line.  A field this module does not know,
at any level, is an error too (with the nearest known name): a misspelt
field would otherwise keep its default without a word.  Fields (defaults in
brackets):

    node             this board's name, 1..16 bytes of UTF-8
    fleet            fleet id, 0..65535 [1]
    key_file         file with the 16-byte fleet key (32 hex digits, or 16
                     raw bytes), relative to the config file
    transports       list of "udp", "espnow" and "mqtt" [["udp"]]
    udp              {"port": int, "peers": [{"node": name, "addr": "host:port"}] [[]],
                      "broadcast": "host:port" of the LAN's broadcast address
                      (with it no peer list is needed) [null]}
    espnow           {"channel": 1..14, "peers": ["aa:bb:cc:dd:ee:ff", ...]}
    mqtt             {"broker": "host:port", "prefix": topic prefix ["ccrdt/<fleet>"],
                      "user": str [null], "password": str [null]}: a gateway
                      that joins other sites through an MQTT broker
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

A udp, espnow or mqtt section is checked whenever it is present, and needed when
its transport is on.  The workload module must import and have a Workload
class; if it declares FIELDS, a dict of its field names, each mapped to an
(lo, hi) integer range or to None (any value), other fields are refused.
"""
import json

from ccrdt.state import id_bytes

TRANSPORTS = ("udp", "espnow", "mqtt")
FIELDS = ("node", "fleet", "key_file", "transports", "udp", "espnow", "mqtt", "wifi", "monitor",
          "gossip_ms", "jitter_ms", "snapshot_ms", "status_ms", "max_nodes",
          "max_constraints", "rx_queue", "led_pin", "workload")
_HEX = b"0123456789abcdefABCDEF"
_HOST = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-"
_BROADCAST = b"\xff\xff\xff\xff\xff\xff"


class ConfigError(Exception):
    pass


def _bad(path, field, why):
    return ConfigError("%s: field '%s' %s" % (path, field, why))


def distance(a, b):
    """Edit distance between two strings, a swap of neighbours counting as
    one edit (optimal string alignment); difflib is not on MicroPython."""
    prev = list(range(len(b) + 1))
    before = prev  # the row two back, read from the second row on
    for i in range(1, len(a) + 1):
        row = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            d = min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (0 if a[i - 1] == b[j - 1] else 1))
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                d = min(d, before[j - 2] + 1)
            row[j] = d
        before, prev = prev, row
    return prev[len(b)]


def nearest(name, known):
    """The known name closest to name, if it is close enough to be what was
    meant: at most a third of its letters off (2 for short names), or one
    name the start of the other ("address" for "addr")."""
    best, best_d, limit = None, 0, max(2, len(name) // 3)
    for k in known:
        d = distance(name, k)
        short = min(len(k), len(name))
        close = d <= limit or short >= 3 and k[:short] == name[:short]
        if close and (best is None or d < best_d):
            best, best_d = k, d
    return best


def _known(d, path, prefix, known):
    """Refuse the first field of d (in name order) that is not in known."""
    for k in sorted(d):
        if k not in known:
            near = nearest(k, known)
            hint = ("did you mean '%s%s'?" % (prefix, near) if near else
                    "known fields: %s" % ", ".join(prefix + n for n in known))
            raise ConfigError("%s: unknown field '%s%s' (%s)" % (path, prefix, k, hint))


def _section(cfg, path, field, what, known=None):
    """The object at cfg[field], its fields checked against known (if given)."""
    v = cfg.get(field)
    if not isinstance(v, dict):
        raise _bad(path, field, "must be an object %s, got %r" % (what, v))
    if known is not None:
        _known(v, path, field + ".", known)
    return v


def _int(cfg, path, field, lo, hi, default=None, prefix=""):
    v = cfg.get(field, default)
    if v is None or not isinstance(v, int) or isinstance(v, bool) or not lo <= v <= hi:
        raise _bad(path, prefix + field, "must be an integer in %d..%d, got %r" % (lo, hi, v))
    return v


def _str(path, field, v, lo, hi):
    if not isinstance(v, str) or not lo <= len(v.encode()) <= hi:
        raise _bad(path, field, "must be %d..%d bytes of UTF-8, got %r" % (lo, hi, v))
    return v


def _all_of(chars, data):
    for c in data:
        if c not in chars:
            return False
    return True


def _addr(path, field, v):
    """(host, port) from "host:port"; host is a name or an IPv4 address."""
    host, port = v.split(":") if isinstance(v, str) and v.count(":") == 1 else ("", "")
    if (not host or len(host) > 253 or not _all_of(_HOST, host.encode())
            or not port.isdigit() or not 0 < int(port) < 65536):
        raise _bad(path, field, "must be \"host:port\" with a port in 1..65535, got %r" % (v,))
    return host, int(port)


def parse_mac(text):
    """The 6 bytes of "aa:bb:cc:dd:ee:ff" (six pairs of hex digits), as
    ESP-NOW takes a peer; ValueError otherwise."""
    parts = text.split(":") if isinstance(text, str) else ()
    if len(parts) != 6 or any(len(p) != 2 or not _all_of(_HEX, p.encode()) for p in parts):
        raise ValueError("must be six pairs of hex digits like \"aa:bb:cc:dd:ee:ff\", got %r"
                         % (text,))
    return bytes(int(p, 16) for p in parts)


def _dirname(path):
    i = path.rfind("/")
    return path[:i + 1] if i >= 0 else ""


def _key_problem(data):
    """What is wrong with the contents of a fleet key file."""
    text = data.strip()
    for i in range(len(text)):
        if not 32 <= text[i] < 127:
            return "%d bytes, not text, expected 16 raw bytes" % len(data)
    for i in range(len(text)):
        if text[i] not in _HEX:
            return ("not hex: %d characters, expected 32 hex digits (%r at position %d is not one)"
                    % (len(text), chr(text[i]), i))
    return "%d hex digits, expected 32" % len(text)


def read_key(path, field="key_file"):
    """The 16-byte fleet key from a file: 32 hex digits (surrounding
    whitespace, such as a trailing newline, is fine) or 16 raw bytes that
    are not all hex digits.  A file of hex digits is always read as hex, so
    a key typed short (16 digits) is refused, never taken as another key."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        raise ConfigError("%s: cannot read the fleet key file (field '%s')" % (path, field))
    text = data.strip()
    hex_text = len(text) > 0 and _all_of(_HEX, text)
    if hex_text and len(text) == 32:
        import binascii
        return binascii.unhexlify(text)
    if len(data) == 16 and not hex_text:
        return data
    raise ConfigError("%s: fleet key file (field '%s'): %s; a key is 32 hex digits (a trailing "
                      "newline is fine) or 16 raw bytes" % (path, field, _key_problem(data)))


def load(path, name=None):
    """The validated configuration of the file at path, as a dict; errors
    name the file as name (default: path)."""
    name = name or path
    try:
        with open(path) as f:
            text = f.read()
    except OSError:
        raise ConfigError("%s: cannot read the board config" % name)
    try:
        cfg = json.loads(text)
    except ValueError as e:
        raise ConfigError("%s: not valid JSON (%s)" % (name, e))
    return validate(cfg, name, _dirname(path))


def _udp(cfg, path):
    u = _section(cfg, path, "udp", "with port and peers", ("port", "peers", "broadcast"))
    peers = u.get("peers", [])
    if not isinstance(peers, list):
        raise _bad(path, "udp.peers", "must be a list")
    plist = []
    for i, p in enumerate(peers):
        f = "udp.peers[%d]" % i
        if not isinstance(p, dict):
            raise _bad(path, f, "must be {\"node\": name, \"addr\": \"host:port\"}")
        _known(p, path, f + ".", ("node", "addr"))
        try:
            id_bytes(p.get("node"), "node")
        except (TypeError, ValueError) as e:
            raise _bad(path, f + ".node", "is wrong: %s" % e)
        plist.append((p["node"], _addr(path, f + ".addr", p.get("addr"))))
    b = u.get("broadcast")
    return {"port": _int(u, path, "port", 1, 65535, prefix="udp."), "peers": plist,
            "broadcast": None if b is None else _addr(path, "udp.broadcast", b)}


def _mqtt(cfg, path):
    m = _section(cfg, path, "mqtt", "with broker", ("broker", "prefix", "user", "password"))
    prefix = m.get("prefix", "ccrdt/%d" % cfg.get("fleet", 1))
    _str(path, "mqtt.prefix", prefix, 1, 64)
    if "+" in prefix or "#" in prefix or prefix.endswith("/"):
        raise _bad(path, "mqtt.prefix", "must be a topic without wildcards or a trailing '/', "
                   "got %r" % prefix)
    name = cfg.get("node")
    if "/" in name or "+" in name or "#" in name:  # a gateway's name is a topic level
        raise _bad(path, "node", "must have no '/', '+' or '#' on an MQTT gateway, got %r"
                   % name)
    out = {"broker": _addr(path, "mqtt.broker", m.get("broker")), "prefix": prefix}
    for f in ("user", "password"):
        out[f] = None if m.get(f) is None else _str(path, "mqtt." + f, m[f], 0, 64)
    return out


def _espnow(cfg, path):
    e = _section(cfg, path, "espnow", "with channel and peers", ("channel", "peers"))
    peers = e.get("peers", [])
    if not isinstance(peers, list):
        raise _bad(path, "espnow.peers", "must be a list of \"aa:bb:cc:dd:ee:ff\" MAC addresses")
    for i, m in enumerate(peers):
        try:
            mac = parse_mac(m)
        except ValueError as err:
            raise _bad(path, "espnow.peers[%d]" % i, str(err))
        if mac == _BROADCAST:
            raise _bad(path, "espnow.peers[%d]" % i,
                       "is the broadcast address, which every board uses")
    return {"channel": _int(e, path, "channel", 1, 14, 1, prefix="espnow."), "peers": peers}


def _wifi(cfg, path):
    w = _section(cfg, path, "wifi", "{\"ssid\": name, \"password\": secret} or null",
                 ("ssid", "password"))
    _str(path, "wifi.ssid", w.get("ssid"), 1, 32)
    _str(path, "wifi.password", w.get("password", ""), 0, 64)  # "": an open network
    return w


def _workload(cfg, path):
    w = _section(cfg, path, "workload", "with a \"module\" name, or null")
    name = w.get("module")
    if not isinstance(name, str) or not name:
        raise _bad(path, "workload.module", "must name the workload's module, got %r" % (name,))
    try:
        mod = __import__(name, None, None, ["Workload"])
    except Exception as e:  # whatever stops the import stops the board: say it here
        raise _bad(path, "workload.module", "names module %r, which does not import: %s: %s"
                   % (name, type(e).__name__, e))
    if not hasattr(mod, "Workload"):
        raise _bad(path, "workload.module", "names module %r, which has no Workload class" % name)
    fields = getattr(mod, "FIELDS", None)
    if fields is not None:
        _known(w, path, "workload.", ("module",) + tuple(sorted(fields)))
        for f in fields:
            if f in w and fields[f] is not None:
                _int(w, path, f, fields[f][0], fields[f][1], prefix="workload.")
    return w


def validate(cfg, path="<config>", base=None):
    """The checked configuration; path names it in errors, and a relative
    key_file is read from base (default: path's directory)."""
    if not isinstance(cfg, dict):
        raise ConfigError("%s: the config must be a JSON object" % path)
    _known(cfg, path, "", FIELDS)
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
    out["key"] = read_key(kf if kf.startswith("/")
                          else (_dirname(path) if base is None else base) + kf)
    tr = cfg.get("transports", ["udp"])
    if (not isinstance(tr, list) or not tr or any(t not in TRANSPORTS for t in tr)
            or len(set(tr)) != len(tr)):
        raise _bad(path, "transports", "must be a list of distinct names out of %s, got %r"
                   % (", ".join('"%s"' % t for t in TRANSPORTS), tr))
    out["transports"] = tr
    for field, check in (("udp", _udp), ("espnow", _espnow), ("mqtt", _mqtt)):
        if field in tr or field in cfg:
            out[field] = check(cfg, path)
    out["wifi"] = None if cfg.get("wifi") is None else _wifi(cfg, path)
    mon = cfg.get("monitor")
    out["monitor"] = None if mon is None else _addr(path, "monitor", mon)
    out["gossip_ms"] = _int(cfg, path, "gossip_ms", 20, 3600000, 1000)
    out["jitter_ms"] = _int(cfg, path, "jitter_ms", 0, 3600000, out["gossip_ms"] // 4)
    out["snapshot_ms"] = _int(cfg, path, "snapshot_ms", 0, 86400000, 5000)
    out["status_ms"] = _int(cfg, path, "status_ms", 100, 3600000, 2000)
    out["max_nodes"] = _int(cfg, path, "max_nodes", 2, 255, 32)
    out["max_constraints"] = _int(cfg, path, "max_constraints", 1, 254, 64)
    out["rx_queue"] = _int(cfg, path, "rx_queue", 1, 64, 8)
    out["led_pin"] = None if cfg.get("led_pin") is None else _int(cfg, path, "led_pin", 0, 48)
    out["workload"] = None if cfg.get("workload") is None else _workload(cfg, path)
    return out

"""A board's node, built from its config: the edges the runtime is given.

``build()`` reads nothing but the validated config: it joins Wi-Fi, opens
the store and the transports the config lists, finds the status LED, makes
the ``Node`` (``ccrdt.node``) and attaches the workload.  ``start()`` is what
``main.py`` calls on a board; then the node's ``serve()`` runs it.
"""
import gc
from struct import pack_into

from ccrdt import raw
from ccrdt.compat import sleep_ms, ticks_diff, ticks_ms
from ccrdt.delta import OWNER_MAX
from ccrdt.node import Node
from ccrdt.store import FLEET_KEY, Store
from ccrdt.wire import Cmac


def transports(cfg, log):
    """The transports cfg lists, in its order; a monitor address without
    the udp transport gets a UDP socket that only sends STATUS frames."""
    out = []
    for kind in cfg["transports"]:
        if kind == "udp":
            from ccrdt.transport.udp import UdpTransport
            u = cfg["udp"]
            out.append(UdpTransport(u["port"], u["peers"], u["broadcast"], cfg["monitor"]))
            u["peers"] = None  # resolved into the transport: ~100 bytes a peer back
        elif kind == "espnow":
            from ccrdt.transport.espnow import EspNowTransport
            out.append(EspNowTransport(cfg["espnow"]["channel"], cfg["espnow"]["peers"], log))
        elif kind == "mqtt":
            from ccrdt.transport.mqtt import MqttTransport
            m = cfg["mqtt"]
            out.append(MqttTransport(cfg["node"], m["broker"][0], m["broker"][1], m["prefix"],
                                     m["user"], m["password"], log))
    if cfg["monitor"] and "udp" not in cfg["transports"]:  # status only: needs an IP network
        from ccrdt.transport.udp import UdpTransport
        out.append(UdpTransport(0, monitor=cfg["monitor"], receives=False))
    return out


def led(pin, log):
    if pin is None:
        return None
    try:
        from machine import Pin
        return Pin(pin, Pin.OUT)
    except (ImportError, ValueError) as e:
        log("no status LED: %s" % e)
        return None


def build(cfg, directory="", log=print, clock=ticks_ms):
    """The node of the validated config cfg, its flash in directory;
    clock: the millisecond tick counter (a test's, or ticks_ms)."""
    if cfg["wifi"]:
        join_wifi(cfg["wifi"], log)
    store = Store(directory, cfg["node"], cfg["max_nodes"], cfg["max_constraints"], log,
                  owner(cfg["fleet"], Cmac(cfg["key"]), chip_id()))
    node = Node(cfg, store, transports(cfg, log), log, clock, led(cfg["led_pin"], log))
    wl = cfg["workload"]
    if wl:
        node.workload = __import__(wl["module"], None, None, ["Workload"]).Workload(node, wl)
    return node


def owner(fleet, cmac, chip):
    """The owner record of a snapshot: u16 fleet id, the first 4 bytes of
    the key's AES-CMAC of a fixed text (tells keys apart, reveals none),
    and the chip id (``machine.unique_id()``)."""
    out = bytearray(FLEET_KEY + min(len(chip), OWNER_MAX - FLEET_KEY))
    pack_into("<H", out, 0, fleet)
    check = bytearray(16)
    cmac.tag_into(b"ccrdt snapshot owner", 20, check, 0)
    raw.copy(out, 2, check, 0, 4)
    raw.copy(out, FLEET_KEY, chip, 0, len(out) - FLEET_KEY)
    return bytes(out)


def chip_id():
    """This chip's id (the ESP32's base MAC), which a cloned flash image
    does not carry along; b"" where the port has none."""
    try:
        from machine import unique_id
        return unique_id()
    except (ImportError, AttributeError, OSError):
        return b""


def join_wifi(wifi, log, timeout_ms=20000):
    """Join the access point (blocking, at boot).  ESP-NOW then shares its
    channel.  Returns whether the station is connected."""
    import network
    sta = network.WLAN(network.STA_IF)
    sta.active(True)
    if not sta.isconnected():
        sta.connect(wifi["ssid"], wifi.get("password", ""))
        t0 = ticks_ms()
        while not sta.isconnected() and ticks_diff(ticks_ms(), t0) < timeout_ms:
            sleep_ms(200)
    log("wifi %s: %s" % (wifi["ssid"],
                         sta.ifconfig()[0] if sta.isconnected() else "not connected"))
    return sta.isconnected()


def _read_config(path):
    """The validated config at path, or None after printing why.  The
    config module (~12 KB while loaded on 32-bit) and this one are let go
    here, with this function's locals, so that the node is built without
    them."""
    from ccrdt.config import ConfigError, load
    try:
        return load(path)
    except ConfigError as e:
        print("config error:", e)
        return None
    finally:
        forget("config", "boot")


def forget(*names):
    """Let go of modules of ccrdt that only boot needs (by name:
    "config")."""
    import sys

    import ccrdt
    for name in names:
        sys.modules.pop("ccrdt." + name, None)
        if hasattr(ccrdt, name):
            delattr(ccrdt, name)


def start(config_path="config.json", directory=""):
    """The node of the board's config, or None after printing why there
    is none.  What only boot needs is let go before the node is built (the
    config module) or runs (this one, ~2 KB kept, and the snapshot reader
    ``ccrdt.restore``), so that main.py can drop its last reference and
    the heap gets them back."""
    cfg = _read_config(config_path)
    if cfg is None:
        return None
    gc.collect()
    from ccrdt.restore import SnapshotError, SnapshotVersionError
    try:
        node = build(cfg, directory)
    except SnapshotVersionError as e:
        print("snapshot error: %s; flash the firmware that wrote it, or erase state.* to start "
              "this board anew" % e)
        return None
    except SnapshotError as e:
        print("snapshot error: %s" % e)
        return None
    finally:
        forget("restore")  # read back: the node goes on without that code
    gc.threshold(-1)  # built: the GC runs when the heap is full again (see main.py)
    return node

"""Build the firmware for a board and put it on a board with mpremote.

    python tools/deploy.py key build/fleet.key          # a new random fleet key
    python tools/deploy.py build esp32_generic          # .mpy files in build/mpy/<board>/
    python tools/deploy.py deploy --port /dev/ttyUSB0 --board esp32_generic \\
        --node kitchen-1 --key build/fleet.key

A board receives the components (tools/package.py) its config needs: the
node runtime, the transports it lists, the workload if it is ccrdt's; build
compiles those for the board's own config.json.

deploy checks everything first (the key, the board's config with this node
name, the compiled files) and only then talks to the board, so a missing key
or a malformed config leaves the board untouched.  On the board the new
config.json, fleet.key and main.py are copied under temporary names and
renamed into place last; then the board is reset and starts the node.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

import hostenv
import package
from hostenv import FIRMWARE, ROOT, tool

from ccrdt.config import ConfigError, load, read_key

ENTRY = "ccrdt/boot.py"  # what main.py runs


class DeployError(Exception):
    pass


def board_meta(board):
    path = os.path.join(ROOT, "boards", board, "board.json")
    if not os.path.exists(path):
        known = sorted(d for d in os.listdir(os.path.join(ROOT, "boards"))
                       if os.path.exists(os.path.join(ROOT, "boards", d, "board.json")))
        raise DeployError("unknown board %r; boards: %s" % (board, ", ".join(known)))
    with open(path) as f:
        return json.load(f)


def needs(cfg):
    """The components a node with config cfg runs (a set of names): the node
    runtime, the transports it lists, udp too for a monitor address (STATUS
    goes over UDP), and the workload module if it is one of ccrdt's."""
    modules = [ENTRY] + ["ccrdt/transport/%s.py" % t for t in cfg.get("transports") or ()]
    if cfg.get("monitor"):
        modules.append("ccrdt/transport/udp.py")
    owner = package.owners()
    out = set()
    for m in modules:
        if m not in owner:
            raise DeployError("no component of packages/ holds %s" % m)
        out.add(owner[m])
    workload = (cfg.get("workload") or {}).get("module", "").replace(".", "/") + ".py"
    if workload in owner:
        out.add(owner[workload])
    return out


def build(board, out=None, components=None):
    """Compile for the board the named components and what they require
    (by default every component), and copy main.py; returns {relative path:
    size}.  A micropython-lib package they require is compiled too where
    MPLIB names a copy of it, else the board must have it (see
    board_provides)."""
    arch = board_meta(board)["arch"]
    out = out or os.path.join(ROOT, "build", "mpy", board)
    shutil.rmtree(out, ignore_errors=True)
    own, lib, _ = package.closure(sorted(package.components() if components is None
                                         else components))
    sizes = {}
    for dest, src in [f for m in own + lib for f in m.files]:
        rel = dest[:-3] + ".mpy"
        dst = os.path.join(out, rel)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        r = subprocess.run([tool("mpy-cross"), "-march=" + arch, "-o", dst, src],
                           capture_output=True, text=True)
        if r.returncode:
            raise DeployError("mpy-cross failed on %s: %s" % (src, r.stderr.strip()))
        sizes[rel] = os.path.getsize(dst)
    shutil.copy(os.path.join(FIRMWARE, "main.py"), os.path.join(out, "main.py"))
    return sizes


def board_provides(components):
    """A line naming the micropython-lib packages the components need that
    this build leaves to the board, or None."""
    missing = package.closure(sorted(components))[2]
    if not missing:
        return None
    return ("the board must have %s: frozen in its firmware (ESP32 ports freeze aioespnow) or "
            "`mpremote mip install NAME`; MPLIB=path/to/micropython-lib compiles a copy into this "
            "build" % ", ".join(missing))


def apply_set(cfg, item):
    """Apply one --set "field=VALUE" to cfg: VALUE is JSON, or else a bare
    string (--set monitor=10.0.0.2:47999); the config's check says if it is
    not what the field takes.  A dotted field (espnow.channel) reaches into a
    section, making it if it is missing or null."""
    field, _, value = item.partition("=")
    try:
        value = json.loads(value)
    except ValueError:
        pass  # a string, unquoted
    names = field.split(".")
    for name in names[:-1]:
        if cfg.get(name) is None:
            cfg[name] = {}
        cfg = cfg[name]
        if not isinstance(cfg, dict):
            raise ConfigError("--set %s: '%s' is not an object" % (field, name))
    cfg[names[-1]] = value


def stage(board, node, key_path, directory, overrides=()):
    """Write config.json and fleet.key for node into directory and validate
    them as the board will; raises ConfigError naming what is wrong, in the
    board's config as the user knows it (boards/<board>/config.json and the
    --set options), not in the staged copy.
    overrides: "field=VALUE" strings (see apply_set) that replace fields of the board's config."""
    board_meta(board)
    read_key(key_path, "KEY")
    shutil.copy(key_path, os.path.join(directory, "fleet.key"))
    shown = "boards/%s/config.json" % board
    with open(os.path.join(ROOT, shown)) as f:
        try:
            cfg = json.load(f)
        except ValueError as e:
            raise ConfigError("%s: not valid JSON (%s)" % (shown, e))
    if not isinstance(cfg, dict):
        raise ConfigError("%s: the config must be a JSON object" % shown)
    cfg["node"] = node
    cfg["key_file"] = "fleet.key"
    for item in overrides:
        apply_set(cfg, item)
    path = os.path.join(directory, "config.json")
    with open(path, "w") as f:
        json.dump(cfg, f, indent=1)
    load(path, shown + (" with" if overrides else "") + "".join(" --set " + i for i in overrides))
    return path


# Run on the board before the copies: the directories they go to.
_PREPARE = """import os
for d in %r:
    try:
        os.mkdir(d)
    except OSError:
        pass
"""
# Run on the board after the copies: the new files take their places, and
# whatever else is under ccrdt/ goes (a component the config no longer
# needs, a source file that would shadow its .mpy).
_COMMIT = """import os
keep = %r
def prune(d):
    for n in os.listdir(d):
        p = d + '/' + n
        if os.stat(p)[0] & 0x4000:
            prune(p)
        elif p not in keep:
            os.remove(p)
prune('ccrdt')
for n in ('config.json', 'fleet.key', 'main.py'):
    os.rename(n + '.new', n)
print('deployed')
"""


# A deploy with --fresh starts the board anew: its snapshot (of another
# fleet, another key or larger tables, which the board refuses to load) goes.
_ERASE_STATE = """
import os
for n in ('state.tmp', 'state.bin', 'state.prev'):
    try:
        os.remove(n)
    except OSError:
        pass
"""


def mpremote(port, *args, timeout=120):
    cmd = [tool("mpremote"), "connect", port, "resume"] + list(args)
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if r.returncode:
        raise DeployError("mpremote %s failed: %s"
                          % (" ".join(args[:2]), (r.stderr or r.stdout).strip()))
    return r.stdout


def deploy(port, board, node, key_path, overrides=(), fresh=False):
    if not key_path:
        raise ConfigError("make deploy needs KEY=path/to/fleet.key"
                          " (make one: make key KEY=build/fleet.key)")
    with tempfile.TemporaryDirectory() as tmp:
        cfg = load(stage(board, node, key_path, tmp, overrides))
        out = os.path.join(tmp, "mpy")
        components = needs(cfg)
        sizes = build(board, out, components)
        dirs = sorted({rel.rsplit("/", k)[0] for rel in sizes
                       for k in range(1, rel.count("/") + 1)})
        mpremote(port, "exec", _PREPARE % (dirs,))
        copies = [(os.path.join(out, rel), ":" + rel) for rel in sorted(sizes)]
        copies += [(os.path.join(tmp, "config.json"), ":config.json.new"),
                   (os.path.join(tmp, "fleet.key"), ":fleet.key.new"),
                   (os.path.join(out, "main.py"), ":main.py.new")]
        args = []
        for src, dst in copies:
            args += ["fs", "cp", src, dst, "+"]
        mpremote(port, *args[:-1])
        if fresh:
            mpremote(port, "exec", _ERASE_STATE)
        if "deployed" not in mpremote(port, "exec", _COMMIT % (sorted(sizes),)):
            raise DeployError("the board did not confirm the new files")
        mpremote(port, "exec", "--no-follow",
                 "import time, machine; time.sleep_ms(100); machine.reset()")
    return sizes, components


def new_key(path):
    if os.path.exists(path):
        raise DeployError("%s exists: a fleet key is not overwritten" % path)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as f:
        f.write(os.urandom(16).hex() + "\n")
    os.chmod(path, 0o600)


def main(argv=None):
    ap = argparse.ArgumentParser(description="Build and deploy ccrdt firmware.")
    sub = ap.add_subparsers(dest="cmd", required=True)
    k = sub.add_parser("key", help="write a new random fleet key")
    k.add_argument("path")
    b = sub.add_parser("build", help="compile the firmware for a board")
    b.add_argument("board")
    d = sub.add_parser("deploy", help="copy firmware, config and key to a board, then reset it")
    d.add_argument("--port", required=True)
    d.add_argument("--board", required=True)
    d.add_argument("--node", required=True)
    d.add_argument("--key", default="")
    d.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                   help="replace a field of the board's config (VALUE is JSON, else a "
                        "string), e.g. --set monitor=10.0.0.2:47999 or --set espnow.channel=6")
    d.add_argument("--fresh", action="store_true",
                   help="erase the board's snapshot (state.*): it starts anew, as a new "
                        "incarnation; its earlier counts stay in the fleet")
    a = ap.parse_args(argv)
    try:
        if a.cmd == "key":
            new_key(a.path)
            print("fleet key written to %s (keep it secret; every board of the fleet needs it)"
                  % a.path)
        elif a.cmd == "build":
            board_meta(a.board)
            with open(os.path.join(ROOT, "boards", a.board, "config.json")) as f:
                components = sorted(needs(json.load(f)))
            print("components for boards/%s/config.json: %s" % (a.board, ", ".join(components)))
            sizes = build(a.board, components=components)
            for rel, size in sorted(sizes.items()):
                print("%6d  %s" % (size, rel))
            print("%6d  total (.mpy for %s, %s)"
                  % (sum(sizes.values()), a.board, board_meta(a.board)["arch"]))
            note = board_provides(components)
            if note:
                print(note)
        else:
            sizes, components = deploy(a.port, a.board, a.node, a.key, a.set, a.fresh)
            print("%s on %s: %d bytes of .mpy, config and key in place; board reset"
                  % (a.node, a.port, sum(sizes.values())))
            note = board_provides(components)
            if note:
                print(note)
    except (ConfigError, DeployError, hostenv.Missing) as e:
        print("deploy: %s" % e, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

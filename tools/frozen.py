"""The 32-bit MicroPython with the firmware frozen in, as a board's firmware
built with ``boards/<board>/manifest.py`` has it: its modules run from the
image, so a node's heap holds only what the node makes.

    python tools/frozen.py        (make frozen) builds build/frozen32/micropython

It is ../shared/mp32's unix port built by ../shared/mp32/freeze.sh from
boards/unix32/manifest.py (about 25 s on 2 cores, the first time longer);
it is built again only when the manifests or the firmware change."""
import argparse
import hashlib
import os
import subprocess
import sys

import hostenv
from hostenv import ROOT

MANIFEST = os.path.join(ROOT, "boards", "unix32", "manifest.py")
FREEZE = os.path.join(os.path.dirname(hostenv.MP32), "freeze.sh")
OUT = os.path.join(ROOT, "build", "frozen32", "micropython")
# Heap bytes a frozen full-capacity (32 x 64) node may keep of a 110 000-byte
# 32-bit heap, under load: the rest, about 59 KB, is the application's.
BUDGET = 48000


def fingerprint():
    """Digest of everything the build freezes or follows."""
    h = hashlib.sha256()
    for top in ("firmware", "packages", os.path.join("boards", "unix32")):
        for d, dirs, names in sorted(os.walk(os.path.join(ROOT, top))):
            dirs.sort()
            for name in sorted(names):
                if name.endswith(".py"):
                    path = os.path.join(d, name)
                    h.update(os.path.relpath(path, ROOT).encode())
                    with open(path, "rb") as f:
                        h.update(f.read())
    return h.hexdigest()


def build(out=OUT, log=print):
    """The path of the frozen interpreter, built if it is missing or stale.
    Raises hostenv.Missing (one line) where freeze.sh is not here."""
    stamp = out + ".src"
    want = fingerprint()
    if os.path.exists(out) and os.path.exists(stamp):
        with open(stamp) as f:
            if f.read() == want:
                return out
    if not os.path.exists(FREEZE):
        raise hostenv.Missing("no %s: a frozen build needs ../shared/mp32 (CI's offline cache "
                              "beside the repository)" % os.path.relpath(FREEZE))
    os.makedirs(os.path.dirname(out), exist_ok=True)
    log("building %s with the firmware frozen in (about 25 s)" % os.path.relpath(out))
    r = subprocess.run(["sh", FREEZE, "unix", MANIFEST, out + ".new"], capture_output=True,
                       text=True)
    if r.returncode:
        lines = (r.stdout + r.stderr).strip().splitlines()
        raise hostenv.Missing("freeze.sh failed: %s" % (lines[-1] if lines else r.returncode))
    os.replace(out + ".new", out)
    with open(stamp, "w") as f:
        f.write(want)
    return out


def main(argv=None):
    argparse.ArgumentParser(description=__doc__.split("\n\n")[0]).parse_args(argv)
    try:
        print(build())
    except hostenv.Missing as e:
        sys.exit("frozen: %s" % e)


if __name__ == "__main__":
    main()

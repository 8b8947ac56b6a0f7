"""A package index laid out as micropython.org's (the one mip and mpremote
mip install from by name), made from files on this machine, for tests that
cannot reach the real one:

    package/<mpy version>/<name>/latest.json   {"hashes": [[path, sha256[:8]]], ...}
    file/<2 hex>/<8 hex>                       each file, named by its hash
"""
import hashlib
import json
import os
import subprocess

from interp import tool


def mpy_version(interp=None):
    """The .mpy version a MicroPython asks an index for (mip and mpremote
    read sys.implementation._mpy)."""
    r = subprocess.run([interp or tool("micropython"), "-c",
                        "import sys; print(sys.implementation._mpy & 0xff)"],
                       capture_output=True, text=True, check=True)
    return r.stdout.strip()


def compiled(source, out):
    """source compiled to .mpy bytecode (any word size), as the index has it."""
    subprocess.run([tool("mpy-cross"), "-o", out, source], check=True)
    with open(out, "rb") as f:
        return f.read()


def build(root, name, files, version="latest"):
    """Index package name, whose files are {path on the board: bytes},
    under root."""
    hashes = []
    for dest, data in sorted(files.items()):
        short = hashlib.sha256(data).hexdigest()[:8]
        os.makedirs(os.path.join(root, "file", short[:2]), exist_ok=True)
        with open(os.path.join(root, "file", short[:2], short), "wb") as f:
            f.write(data)
        hashes.append([dest, short])
    pkg = os.path.join(root, "package", mpy_version(), name)
    os.makedirs(pkg, exist_ok=True)
    with open(os.path.join(pkg, version + ".json"), "w") as f:
        json.dump({"hashes": hashes, "deps": [], "version": "0"}, f)
    return root

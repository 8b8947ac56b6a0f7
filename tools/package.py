"""ccrdt's components and their mip package files.

    python tools/package.py           # write the package.json files and every manifest's version
    python tools/package.py --check   # exit 1 if any is out of date

A component is packages/<name>/manifest.py, written for MicroPython's build
(tools/manifestfile.py: metadata, require, package, module) so that a board's
firmware freezes exactly the components it runs; this module reads them with
stand-ins for those functions.  A component requires another with
``library="ccrdt"`` (packages/, as the boards' manifests declare it with
add_library); without a library, a require names a micropython-lib package.

The version is written by hand in one place, ``ccrdt.__version__``
(firmware/ccrdt/__init__.py); this tool writes it into every manifest's
metadata and into the package.json files mip installs from:

    package.json                       what a board of the fleet runs with the
                                       boards' default config: ``ccrdt`` and the
                                       example workload it names
                                       (mpremote mip install github:OWNER/REPO@vX.Y.Z)
    packages/<name>/package.json       one component and what it requires
                                       (github:OWNER/REPO/packages/<name>/package.json@vX.Y.Z)

Each file lists its ccrdt modules itself, by URLs relative to where it lies
(mip resolves those against the package.json's own URL, and a ``deps`` entry
could name another component only by an absolute github: URL, which would
tie the files to one repository's name); micropython-lib packages it needs
are ``deps`` by name, fetched from the index as micropython-lib's own are.
"""
import argparse
import ast
import json
import os
import re
import sys

import hostenv
from hostenv import FIRMWARE, ROOT

PACKAGES = os.path.join(ROOT, "packages")
LIBRARY = "ccrdt"
# What the package.json at the repository's root installs: the fleet's
# component and the workload the boards' config.json runs.
INDEX = ("ccrdt", "ccrdt-workload")
INDEX_PATH = os.path.join(ROOT, "package.json")


class Manifest:
    """What one manifest.py declares."""

    def __init__(self, path):
        if os.path.isdir(path):
            path = os.path.join(path, "manifest.py")
        self.path = path
        self.name = os.path.basename(os.path.dirname(path))
        self.version = self.description = self.license = None
        self.files = []  # (path on the board, source file)
        self.requires = []  # (package name, library or None)
        self.libraries = {}  # add_library: name -> directory
        self.includes = []  # include(): the manifests of MicroPython's build, as written
        here = os.path.dirname(path)

        def resolve(p):
            return os.path.normpath(os.path.join(here, p))

        def metadata(description=None, version=None, license=None, author=None):
            self.description, self.version, self.license = description, version, license

        def require(name, version=None, library=None, **_):
            self.requires.append((name, library))

        def add_library(library, library_path, prepend=False):
            self.libraries[library] = resolve(library_path)

        def include(manifest_path, **_):
            self.includes.append(manifest_path)

        def module(module_path, base_path=".", opt=None):
            self.files.append((module_path, os.path.join(resolve(base_path), module_path)))

        def package(package_path, files=None, base_path=".", opt=None):
            top = os.path.join(resolve(base_path), package_path)
            if files is None:  # the whole directory, as manifestfile does
                files = sorted(os.path.relpath(os.path.join(d, f), top)
                               for d, _, names in os.walk(top) for f in names if f.endswith(".py"))
            for f in files:
                module(package_path + "/" + f, base_path)

        with open(path) as f:
            exec(f.read(), {"metadata": metadata, "require": require, "add_library": add_library,
                            "include": include, "module": module, "package": package})


def components():
    """Every component of ccrdt by name (packages/<name>/manifest.py)."""
    return {n: Manifest(os.path.join(PACKAGES, n)) for n in sorted(os.listdir(PACKAGES))
            if os.path.exists(os.path.join(PACKAGES, n, "manifest.py"))}


def find(name, library):
    """The manifest of a required package, as manifestfile looks for it: a
    directory of that name under the library; None if there is none here."""
    if not library:
        # micropython-lib's, where MPLIB names a copy (umqtt.simple); one it
        # lacks is the board's to have: frozen in its firmware (ESP32 ports
        # freeze aioespnow; virtual boards get host_tests/shim) or from mip.
        d = hostenv.mplib_package(name)
        return Manifest(d) if d else None
    for d, _, names in os.walk({LIBRARY: PACKAGES}[library]):
        if os.path.basename(d) == name and "manifest.py" in names:
            return Manifest(d)
    return None


def closure(names):
    """The packages the named components need, each once, each after what it
    requires: (ccrdt's, micropython-lib's found here, names of those not
    found here, which the firmware must have)."""
    own, lib, missing, seen = [], [], [], set()

    def visit(name, library):
        if (name, library) in seen:
            return
        seen.add((name, library))
        m = find(name, library)
        if m is None:
            if library:
                raise ValueError("no component %r in %s" % (name, PACKAGES))
            missing.append(name)
            return
        for req in m.requires:
            visit(*req)
        (own if library else lib).append(m)

    for n in names:
        visit(n, LIBRARY)
    return own, lib, missing


def owners():
    """Which component holds each module: {path on the board: component}."""
    return {dest: c.name for c in components().values() for dest, _ in c.files}


def version():
    """ccrdt.__version__, read from its source (no import: that needs a port)."""
    with open(os.path.join(FIRMWARE, "ccrdt", "__init__.py")) as f:
        tree = ast.parse(f.read())
    return next(node.value.value for node in tree.body if isinstance(node, ast.Assign)
                and [t.id for t in node.targets if isinstance(t, ast.Name)] == ["__version__"])


def index(names=INDEX, where=ROOT):
    """A package.json for mip that installs the named components and what
    they require: their files by URLs relative to the directory where, and
    the micropython-lib packages they require as deps."""
    own, _, _ = closure(names)
    urls = [[dest, os.path.relpath(src, where).replace(os.sep, "/")]
            for m in own for dest, src in m.files]
    deps = sorted({name for m in own for name, library in m.requires if library is None})
    return {"urls": urls, "deps": [[d, "latest"] for d in deps], "version": version()}


def package_json(name):
    """Where component name's package.json lies."""
    return os.path.join(PACKAGES, name, "package.json")


_VERSION = re.compile(r'(metadata\([^)]*?version=")([^"]*)(")')


def generated():
    """{path: text} of every file this tool writes, as it would write them."""
    out = {INDEX_PATH: json.dumps(index(), indent=1) + "\n"}
    for m in components().values():
        out[package_json(m.name)] = json.dumps(
            index([m.name], os.path.dirname(m.path)), indent=1) + "\n"
        with open(m.path) as f:
            out[m.path] = _VERSION.sub(lambda g: g.group(1) + version() + g.group(3), f.read())
    return out


def current(path):
    """The text of a generated file as it is now ("" if there is none)."""
    if not os.path.exists(path):
        return ""
    with open(path) as f:
        return f.read()


def main(argv=None):
    ap = argparse.ArgumentParser(
        description="Write the package.json files and the manifests' versions.")
    ap.add_argument("--check", action="store_true",
                    help="exit 1 if a file is out of date; write nothing")
    a = ap.parse_args(argv)
    stale = []
    for path, text in generated().items():
        if current(path) == text:
            continue
        stale.append(os.path.relpath(path, ROOT))
        if not a.check:
            with open(path, "w") as f:
                f.write(text)
    done = "out of date" if a.check else "written"
    print("%s: %s" % (done, ", ".join(stale)) if stale else "up to date")
    return 1 if a.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())

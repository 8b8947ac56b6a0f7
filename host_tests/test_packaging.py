"""The components (packages/*/manifest.py) hold every firmware module once,
each with what it imports; one version; package.json as tools/package.py
generates it."""
import ast
import json
import os

import deploy
import package
import pytest
from interp import FIRMWARE, ROOT, firmware_modules

COMPONENTS = package.components()


def test_package_json_and_the_versions_are_as_generated():
    for path, text in package.generated().items():
        assert package.current(path) == text, \
                "%s is out of date: run python tools/package.py" % os.path.relpath(path, ROOT)


def test_every_firmware_module_is_in_exactly_one_component():
    held = [(dest, os.path.relpath(src, FIRMWARE))
            for c in COMPONENTS.values() for dest, src in c.files]
    assert all(dest == src for dest, src in held), held  # installed where the source says
    # Relative to firmware/, so that where the clone lives and what it is
    # called (a clone named ccrdt, say) cannot decide what is a library module.
    on_disk = sorted(rel for rel in (os.path.relpath(p, FIRMWARE) for p in firmware_modules())
                     if rel.startswith("ccrdt" + os.sep))
    listed = sorted(dest for dest, _ in held)
    twice = {d for d in listed if listed.count(d) > 1}
    assert listed == on_disk, ("in no component: %s; in two, or missing: %s"
                               % (sorted(set(on_disk) - set(listed)),
                                  sorted(twice | (set(listed) - set(on_disk)))))


def test_one_version_everywhere():
    import ccrdt
    v = package.version()
    assert v == ccrdt.__version__ and v.count(".") == 2
    assert all(c.version == v and c.description for c in COMPONENTS.values()), \
        [(c.name, c.version) for c in COMPONENTS.values()]
    with open(os.path.join(ROOT, "package.json")) as f:
        assert json.load(f)["version"] == v


def installs(path):
    """{path on the board: source file} and the deps of a package.json,
    its relative URLs resolved as mip resolves them: against its directory."""
    with open(path) as f:
        idx = json.load(f)
    here = os.path.dirname(path)
    return ({dest: os.path.normpath(os.path.join(here, url)) for dest, url in idx["urls"]},
            idx["deps"])


def test_the_root_package_installs_what_the_default_config_runs():
    files, deps = installs(package.INDEX_PATH)
    owner = package.owners()
    assert {owner[dest] for dest in files} == {
        "ccrdt-core", "ccrdt-gossip", "ccrdt-node", "ccrdt-espnow", "ccrdt-udp", "ccrdt-workload"}
    assert all(os.path.join(FIRMWARE, dest) == src for dest, src in files.items())
    assert deps == [["aioespnow", "latest"]]
    for board in ("esp32_generic", "esp32_s3", "esp32_c3"):
        with open(os.path.join(ROOT, "boards", board, "config.json")) as f:
            needed = deploy.needs(json.load(f))
        assert needed <= {owner[dest] for dest in files}, (board, needed)


@pytest.mark.parametrize("name", sorted(COMPONENTS))
def test_each_component_has_a_package_json_with_what_it_requires(name):
    """packages/<name>/package.json installs the component, every component
    it requires (their files listed, not deps: a dep could only name them by
    a github: URL) and, as deps, the micropython-lib packages they need."""
    files, deps = installs(package.package_json(name))
    own, _, _ = package.closure([name])
    assert files == {dest: src for m in own for dest, src in m.files}
    assert all(os.path.exists(src) for src in files.values())
    assert sorted(d for d, _ in deps) == sorted(
        {n for m in own for n, library in m.requires if library is None})


def test_the_license_is_mit_everywhere():
    with open(os.path.join(ROOT, "LICENSE")) as f:
        assert f.readline().strip() == "MIT License"
    assert {c.name: c.license for c in COMPONENTS.values()} == dict.fromkeys(COMPONENTS, "MIT")


def top_level_imports(path):
    """The ccrdt modules a file imports when it is imported (imports inside
    functions are the config's choice: boot's transports, for one)."""
    with open(path) as f:
        tree = ast.parse(f.read())
    out, todo = set(), [tree]
    while todo:
        node = todo.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        todo.extend(ast.iter_child_nodes(node))
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.startswith("ccrdt.")}
        elif isinstance(node, ast.ImportFrom) and node.module == "ccrdt":
            out |= {"ccrdt." + a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("ccrdt."):
            out.add(node.module)
    return out


def module_file(name):
    """ccrdt/x.py for a module ccrdt.x; ccrdt/__init__.py for a name the
    package itself defines (from ccrdt import CapacityError)."""
    rel = name.replace(".", "/") + ".py"
    return rel if os.path.exists(os.path.join(FIRMWARE, rel)) else "ccrdt/__init__.py"


def unmet(files, brought):
    """{module a file imports: the file} for modules not in brought."""
    return {module_file(i): dest for dest, src in files for i in top_level_imports(src)
            if module_file(i) not in brought}


@pytest.mark.parametrize("name", sorted(COMPONENTS))
def test_a_component_brings_every_module_it_imports(name):
    own, _, _ = package.closure([name])
    missing = unmet(COMPONENTS[name].files, {dest for m in own for dest, _ in m.files})
    assert not missing, "%s: imported but not required: %s" % (name, missing)


def test_the_import_check_sees_a_missing_require():
    gossip = COMPONENTS["ccrdt-gossip"].files
    assert {"ccrdt/state.py", "ccrdt/wire.py"} <= set(unmet(gossip, {dest for dest, _ in gossip}))


def test_requires_resolve_and_name_the_micropython_lib_packages():
    for c in COMPONENTS.values():
        assert c.requires or c.name == "ccrdt-core", c.name
        package.closure([c.name])  # every component it requires exists
    ext = {c.name: [n for n, lib in c.requires if lib is None] for c in COMPONENTS.values()}
    assert ext["ccrdt-espnow"] == ["aioespnow"] and ext["ccrdt-mqtt"] == ["umqtt.simple"]
    assert not any(v for k, v in ext.items() if k not in ("ccrdt-espnow", "ccrdt-mqtt")), ext


def test_esp32_board_manifests_freeze_the_fleet_package_and_the_workload():
    for board in ("esp32_generic", "esp32_s3", "esp32_c3"):
        m = package.Manifest(os.path.join(ROOT, "boards", board))
        assert m.includes == ["$(PORT_DIR)/boards/manifest.py"]
        assert m.libraries == {package.LIBRARY: package.PACKAGES}
        assert m.requires == [("ccrdt", "ccrdt"), ("ccrdt-workload", "ccrdt")] and not m.files

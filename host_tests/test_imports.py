"""The tree's imports: no cycle anywhere (imports inside functions count,
since a lazy import only hides a cycle), firmware, tools and test helpers
together."""
import ast
import os

from interp import ROOT

# (folder, how its modules are imported): ccrdt.x in firmware/, by file name elsewhere.
FOLDERS = (("firmware", None), ("tools", ""), ("host_tests", ""), ("host", ""))


def modules():
    """module name -> the names it imports (of modules of the tree or not)."""
    out = {}
    for folder, _ in FOLDERS:
        base = os.path.join(ROOT, folder)
        for d, _dirs, files in os.walk(base):
            for f in files:
                if not f.endswith(".py"):
                    continue
                rel = os.path.relpath(os.path.join(d, f), base)[:-3].replace(os.sep, ".")
                name = rel[:-len(".__init__")] if rel.endswith(".__init__") else rel
                with open(os.path.join(d, f)) as fh:
                    tree = ast.parse(fh.read())
                names = set()
                for node in ast.walk(tree):
                    if isinstance(node, ast.Import):
                        names.update(a.name for a in node.names)
                    elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                        names.add(node.module)
                        names.update("%s.%s" % (node.module, a.name) for a in node.names)
                out[name] = names
    return out


def test_no_import_cycle():
    mods = modules()
    assert {"ccrdt.gossip", "monitor", "observer", "drive"} <= set(mods), sorted(mods)
    graph = dict((m, sorted(n for n in names if n in mods and n != m))
                 for m, names in mods.items())
    cycles, state = [], {}

    def visit(m, path):
        state[m] = 1  # on the path
        for n in graph[m]:
            if state.get(n) == 1:
                cycles.append(path[path.index(n):] + [n])
            elif n not in state:
                visit(n, path + [n])
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m, [m])
    assert not cycles, cycles

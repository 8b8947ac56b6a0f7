"""The replicated content of a state as sorted tuples keyed by tag, read
through the types' public members.  Tests compare these where the firmware
compares in place (``ConstraintState.__eq__``): an independent reading, so
a wrong in-place comparison shows."""
from ccrdt.counters import SATISFIED, VIOLATIONS
from ccrdt.layout import SLICES


def set_content(cs):
    """(context entries, dots) of an add-wins set."""
    tags = cs.nodes.tags
    ctx = []
    for s in range(SLICES):
        for n in range(cs.nodes.count):
            if cs.context(s, n):
                ctx.append((s, tags[n], cs.context(s, n)))
    ctx.sort()
    return ctx, sorted((cid, tags[n], d) for cid, n, d in cs.dots())


def counters_content(m):
    """The non-zero counter rows: (tag, satisfied, violations, operations)."""
    rows = []
    for n in range(m.nodes.count):
        row = (m.nodes.tags[n], m.count(SATISFIED, n), m.count(VIOLATIONS, n), m.version(n))
        if row[1] or row[2] or row[3]:
            rows.append(row)
    rows.sort()
    return rows


def register_content(p):
    return (p.a, p.b, p.clock, p.writer) if p.is_set else None


def content(st):
    """Context entries, dots, counter rows, position (None if unset)."""
    ctx, dots = set_content(st.constraints)
    return ctx, dots, counters_content(st.metrics), register_content(st.position)

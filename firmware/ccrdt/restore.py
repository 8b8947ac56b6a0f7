"""Reading snapshots back: code a board runs once, at boot.

``Store.load`` imports it when it needs it (and tools use ``decode_state``),
and ``ccrdt.boot`` forgets it once the node is built, as it forgets the
config, so its code (about 2 KB on a 32-bit port) leaves the heap.  The
snapshot layout is ``ccrdt.delta``'s, which writes them.
"""
from ccrdt import CapacityError, fnv, raw
from ccrdt.delta import SNAPSHOT_MAGIC, SNAPSHOT_VERSION, OWNER_MAX
from ccrdt.layout import FILES, FLEET_KEY, MOVED, NEWEST, NONE, OLDER
from ccrdt.state import ConstraintState


class SnapshotError(ValueError):
    """A well-formed snapshot this board must not load, nor replace: it
    stops and says why (``ccrdt.store``)."""


class SnapshotVersionError(SnapshotError):
    """A well-formed snapshot of a version this firmware does not read: not
    corrupt, only newer (or older) than the code."""


def decode_snapshot(data, new_state):
    """The state a snapshot holds, built by new_state(max_nodes,
    max_constraints, incarnation), with its epoch and owner (both 0 and
    empty before version 3); ValueError names what is wrong."""
    if len(data) < 13 or bytes(data[:3]) != SNAPSHOT_MAGIC:
        raise ValueError("not a ccrdt snapshot (bad magic or too short)")
    body = memoryview(data)[:-4]
    if fnv.fnv1a32(body) != raw.u32(data, len(data) - 4):
        raise ValueError("snapshot checksum mismatch (corrupt or truncated)")
    version = data[3]
    if not 1 <= version <= SNAPSHOT_VERSION:
        raise SnapshotVersionError("snapshot version %d: this firmware reads 1..%d"
                                   % (version, SNAPSHOT_VERSION))
    o = 6
    incarnation = epoch = 0
    owner = b""
    if version >= 2:
        incarnation = raw.u32(data, o)
        o += 4
    if version >= 3:
        epoch = raw.u16(data, o)
        n = data[o + 2]
        if n > OWNER_MAX or o + 3 + n >= len(body):
            raise ValueError("snapshot owner truncated")
        owner = bytes(data[o + 3:o + 3 + n])
        o += 3 + n
    st = new_state(data[4], data[5], incarnation)
    st.epoch, st.owner = epoch, owner
    count = data[o]
    o += 1
    names = []
    for _ in range(count):
        if o + 5 > len(body) or o + 5 + data[o + 4] > len(body):
            raise ValueError("snapshot names truncated")
        names.append((o, data[o + 4]))
        o += 5 + data[o + 4]
    if o + 2 > len(body):
        raise ValueError("snapshot parts truncated")
    count = raw.u16(data, o)
    o += 2
    r = st.part_reader()
    for _ in range(count):
        n = data[o] if o < len(body) else 0
        if n == 0 or o + 1 + n > len(body):
            raise ValueError("snapshot part truncated")
        r.join(data, o + 1, n)
        o += 1 + n
    if o != len(body):
        raise ValueError("snapshot has trailing bytes")
    for no, n in names:
        st.remember_name(raw.u32(data, no), data, no + 5, n)
    return st


def decode_state(data, node_id, max_nodes=None, max_constraints=None):
    """Rebuild a state from ``ConstraintState.encode()``'s bytes; ValueError
    if they are corrupt.  Its tables have the snapshot's sizes, or the sizes
    given (a board whose config changed them; CapacityError if the content
    does not fit)."""
    return decode_snapshot(data, lambda nodes, constraints, incarnation: ConstraintState(
        node_id, max_nodes or nodes, max_constraints or constraints, incarnation))


def load(store, incarnation):
    """``Store.load``: (state, how), the newest valid snapshot of store
    and NEWEST, OLDER, MOVED or NONE (``ccrdt.store``)."""
    for i, name in enumerate(FILES):
        try:
            with open(store.path(name), "rb") as f:
                data = f.read()
        except OSError:
            continue  # not there: normal on first boot and between renames
        try:
            state = decode_state(data, store.node_id, *store.caps)
        except SnapshotError:
            # Written by newer firmware: not corrupt, and the next save
            # would overwrite it.  The board stops here and says so.
            raise
        except CapacityError as e:
            raise SnapshotError("%s holds more than the configured tables (%s); configure "
                                "them as before" % (store.path(name), e))
        except ValueError as e:
            store.corrupt += 1
            store.log("snapshot %s refused: %s" % (store.path(name), e))
            continue
        del data
        moved = _check_owner(store, state.owner, name)
        store.log("state loaded from %s" % store.path(name))
        if i == 0:
            # A complete state.tmp: a crash came between the renames.
            # Finish them now, or a later save cut short would leave the
            # older state.bin looking like the newest.
            store.rotate()
        state.owner = store.owner
        return state, MOVED if moved else (OLDER if i == 2 else NEWEST)
    state = ConstraintState(store.node_id, store.caps[0], store.caps[1], incarnation)
    state.owner = store.owner
    return state, NONE

def _check_owner(store, theirs, name):
    """True if the snapshot is this fleet's and key's but another
    chip's; SnapshotError if it is another fleet's or key's.  A snapshot
    without an owner (version 2) cannot tell and is taken as this
    board's."""
    mine = store.owner
    if not theirs or not mine:
        return False
    if theirs[:FLEET_KEY] != mine[:FLEET_KEY]:
        raise SnapshotError("%s holds the state of %s; deploy with --fresh to start anew"
                            % (store.path(name), "fleet %d" % raw.u16(theirs, 0)
                               if theirs[:2] != mine[:2] else "another fleet key"))
    return theirs[FLEET_KEY:] != mine[FLEET_KEY:]

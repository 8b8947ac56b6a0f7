"""Snapshots of the state on flash: atomic, checksummed, debounced by the caller.

save() writes ``state.tmp``, moves the current ``state.bin`` to
``state.prev`` and renames the new file into place; each step is a rename, so
a power cut leaves at least one complete file.  A state only grows (every
change is a join or a local operation), so each snapshot holds all of the one
before it: load() reads the newest complete file (``state.tmp`` if a crash
came between the renames, else ``state.bin``, else ``state.prev``) and no
other, which keeps one full state in RAM at boot, not two.  A corrupt file
(the codec carries a checksum) is reported, counted and skipped, never
trusted.

load() also says how the board's own history stands:

* ``NEWEST`` - the latest snapshot: the board goes on where it stopped;
* ``OLDER`` - only ``state.prev``: what the board did after it may live on
  other boards only, so it must not count on under the same origin (the
  node starts a new incarnation);
* ``NONE`` - no valid snapshot (a new board, a wiped or replaced one, or
  every file corrupt): the state is empty, under the new incarnation the
  caller gave, so that nothing it does reuses an earlier life's dots or row;
* ``MOVED`` - the snapshot was written on another chip (a cloned flash
  image, or a flash moved to another board): the original may live on
  with this very origin, so this board must go on as a new incarnation.

Every snapshot names its owner: the fleet id, a check value of the key
(never the key) and the chip (``owner()``).  A snapshot of another fleet or
key raises ``SnapshotError`` (``ccrdt.restore``) rather than carry that fleet's data into this
one; so does one that does not fit the configured tables (smaller than
the snapshot's content) and one of a version this firmware does not read
(``SnapshotVersionError``, written by a newer one).  None of them is
corrupt, and a new life over it would lose it: the board stops and says
so, and a deploy that starts the board anew erases ``state.*``.
"""
import os

from ccrdt.layout import FILES, FLEET_KEY, MOVED, NEWEST, NONE, OLDER  # noqa: F401  (load's answers)


class Store:
    def __init__(self, directory, node_id, max_nodes, max_constraints, log=print, owner=b""):
        self.dir = directory.rstrip("/") + "/" if directory else ""
        self.node_id = node_id
        self.caps = (max_nodes, max_constraints)
        self.log = log
        self.owner = owner
        self.saves = self.corrupt = 0

    def path(self, name):
        return self.dir + name

    def load(self, incarnation):
        """(state, how): the newest valid snapshot, and NEWEST, OLDER, MOVED
        or NONE (see above); with NONE an empty state of that incarnation.
        The state's owner is this store's from now on.  The code is
        ``ccrdt.restore``'s, which a board forgets once it has booted."""
        from ccrdt.restore import load
        return load(self, incarnation)

    def save(self, state):
        """Write the state; raises OSError if the flash write fails."""
        with open(self.path(FILES[0]), "wb") as f:
            state.write_snapshot(f)
        self.rotate()
        self.saves += 1

    def rotate(self):
        """state.bin becomes state.prev, state.tmp becomes state.bin."""
        tmp, cur, prev = self.path(FILES[0]), self.path(FILES[1]), self.path(FILES[2])
        try:
            os.rename(cur, prev)
        except OSError:
            pass  # first save: nothing to keep yet
        os.rename(tmp, cur)

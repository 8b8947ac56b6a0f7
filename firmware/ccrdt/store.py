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
  caller gave, so that nothing it does reuses an earlier life's dots or row.

A snapshot of a version this firmware does not read (written by a newer
one) raises ``SnapshotVersionError``: it is not corrupt, and replacing it
would lose it.
"""
import os

from micropython import const

from ccrdt import CapacityError
from ccrdt.delta import SnapshotVersionError
from ccrdt.state import ConstraintState

_FILES = ("state.tmp", "state.bin", "state.prev")  # newest first
NEWEST = const(0)
OLDER = const(1)
NONE = const(2)


class Store:
    def __init__(self, directory, node_id, max_nodes, max_constraints, log=print):
        self.dir = directory.rstrip("/") + "/" if directory else ""
        self.node_id = node_id
        self.caps = (max_nodes, max_constraints)
        self.log = log
        self.saves = self.corrupt = 0

    def _path(self, name):
        return self.dir + name

    def load(self, incarnation):
        """(state, how): the newest valid snapshot, and NEWEST, OLDER or
        NONE (see above); with NONE an empty state of that incarnation."""
        for i, name in enumerate(_FILES):
            try:
                with open(self._path(name), "rb") as f:
                    data = f.read()
            except OSError:
                continue  # not there: normal on first boot and between renames
            try:
                state = ConstraintState.decode(data, self.node_id, *self.caps)
            except SnapshotVersionError:
                # Written by newer firmware: not corrupt, and the next save
                # would overwrite it.  The board stops here and says so.
                raise
            except (ValueError, CapacityError) as e:
                self.corrupt += 1
                self.log("snapshot %s refused: %s" % (self._path(name), e))
                continue
            del data
            self.log("state loaded from %s" % self._path(name))
            if i == 0:
                # A complete state.tmp: a crash came between the renames.
                # Finish them now, or a later save cut short would leave the
                # older state.bin looking like the newest.
                self._rotate()
            return state, OLDER if i == 2 else NEWEST
        return ConstraintState(self.node_id, self.caps[0], self.caps[1], incarnation), NONE

    def save(self, state):
        """Write the state; raises OSError if the flash write fails."""
        with open(self._path(_FILES[0]), "wb") as f:
            state.write_snapshot(f)
        self._rotate()
        self.saves += 1

    def _rotate(self):
        """state.bin becomes state.prev, state.tmp becomes state.bin."""
        tmp, cur, prev = self._path(_FILES[0]), self._path(_FILES[1]), self._path(_FILES[2])
        try:
            os.rename(cur, prev)
        except OSError:
            pass  # first save: nothing to keep yet
        os.rename(tmp, cur)

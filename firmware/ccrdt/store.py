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
key raises ``SnapshotError`` rather than carry that fleet's data into this
one; so does one that does not fit the configured tables (smaller than
the snapshot's content) and one of a version this firmware does not read
(``SnapshotVersionError``, written by a newer one).  None of them is
corrupt, and a new life over it would lose it: the board stops and says
so, and a deploy that starts the board anew erases ``state.*``.
"""
import os
from micropython import const

from ccrdt import CapacityError, raw
from ccrdt.delta import SnapshotError
from ccrdt.state import ConstraintState

_FILES = ("state.tmp", "state.bin", "state.prev")  # newest first
NEWEST = const(0)
OLDER = const(1)
NONE = const(2)
MOVED = const(3)
FLEET_KEY = const(6)  # owner bytes naming fleet and key (ccrdt.boot.owner); the chip id follows


class Store:
    def __init__(self, directory, node_id, max_nodes, max_constraints, log=print, owner=b""):
        self.dir = directory.rstrip("/") + "/" if directory else ""
        self.node_id = node_id
        self.caps = (max_nodes, max_constraints)
        self.log = log
        self.owner = owner
        self.saves = self.corrupt = 0

    def _path(self, name):
        return self.dir + name

    def load(self, incarnation):
        """(state, how): the newest valid snapshot, and NEWEST, OLDER, MOVED
        or NONE (see above); with NONE an empty state of that incarnation.
        The state's owner is this store's from now on."""
        for i, name in enumerate(_FILES):
            try:
                with open(self._path(name), "rb") as f:
                    data = f.read()
            except OSError:
                continue  # not there: normal on first boot and between renames
            try:
                state = ConstraintState.decode(data, self.node_id, *self.caps)
            except SnapshotError:
                # Written by newer firmware: not corrupt, and the next save
                # would overwrite it.  The board stops here and says so.
                raise
            except CapacityError as e:
                raise SnapshotError("%s holds more than the configured tables (%s); configure "
                                    "them as before" % (self._path(name), e))
            except ValueError as e:
                self.corrupt += 1
                self.log("snapshot %s refused: %s" % (self._path(name), e))
                continue
            del data
            moved = self._check_owner(state.owner, name)
            self.log("state loaded from %s" % self._path(name))
            if i == 0:
                # A complete state.tmp: a crash came between the renames.
                # Finish them now, or a later save cut short would leave the
                # older state.bin looking like the newest.
                self._rotate()
            state.owner = self.owner
            return state, MOVED if moved else (OLDER if i == 2 else NEWEST)
        state = ConstraintState(self.node_id, self.caps[0], self.caps[1], incarnation)
        state.owner = self.owner
        return state, NONE

    def _check_owner(self, theirs, name):
        """True if the snapshot is this fleet's and key's but another
        chip's; SnapshotError if it is another fleet's or key's.  A snapshot
        without an owner (version 2) cannot tell and is taken as this
        board's."""
        mine = self.owner
        if not theirs or not mine:
            return False
        if theirs[:FLEET_KEY] != mine[:FLEET_KEY]:
            raise SnapshotError("%s holds the state of %s; deploy with --fresh to start anew"
                                % (self._path(name), "fleet %d" % raw.u16(theirs, 0)
                                   if theirs[:2] != mine[:2] else "another fleet key"))
        return theirs[FLEET_KEY:] != mine[FLEET_KEY:]

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

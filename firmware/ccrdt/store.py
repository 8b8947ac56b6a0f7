"""Snapshots of the state on flash: atomic, checksummed, debounced by the caller.

save() writes ``state.tmp``, moves the current ``state.bin`` to
``state.prev`` and renames the new file into place; each step is a rename, so
a power cut leaves at least one complete file.  load() reads every one of
the three that is valid (the codec carries a checksum) and joins them: a
join of states of the same board is always safe, so the newest content
survives whichever step a crash interrupted.  A corrupt file is reported
and skipped, never trusted.
"""
import os

from ccrdt import CapacityError
from ccrdt.state import ConstraintState

_FILES = ("state.bin", "state.tmp", "state.prev")


class Store:
    def __init__(self, directory, node_id, max_nodes, max_constraints, log=print):
        self.dir = directory.rstrip("/") + "/" if directory else ""
        self.node_id = node_id
        self.caps = (max_nodes, max_constraints)
        self.log = log
        self.saves = self.corrupt = 0

    def _path(self, name):
        return self.dir + name

    def load(self):
        """(state, fresh): fresh is False when some snapshot existed but
        state.bin itself was missing or corrupt, so newer changes may exist
        only on other boards."""
        state = ConstraintState(self.node_id, *self.caps)
        found = {}
        existed = False
        for name in _FILES:
            try:
                with open(self._path(name), "rb") as f:
                    data = f.read()
            except OSError:
                continue  # not there: normal on first boot and between renames
            existed = True
            try:
                state.merge(ConstraintState.decode(data, self.node_id))
                found[name] = True
            except (ValueError, CapacityError) as e:
                self.corrupt += 1
                self.log("snapshot %s refused: %s" % (self._path(name), e))
        if found:
            self.log("state loaded from %s" % ", ".join(n for n in _FILES if n in found))
        return state, "state.bin" in found or not existed

    def save(self, state):
        """Write the state; raises OSError if the flash write fails."""
        data = state.encode()
        tmp, cur, prev = self._path(_FILES[1]), self._path(_FILES[0]), self._path(_FILES[2])
        with open(tmp, "wb") as f:
            f.write(data)
        try:
            os.rename(cur, prev)
        except OSError:
            pass  # first save: nothing to keep yet
        os.rename(tmp, cur)
        self.saves += 1

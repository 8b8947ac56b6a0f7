"""Anti-entropy gossip: push-pull over digests, deltas of at most one frame.

One exchange, started by a PING (``ping_into()``) at node A towards node B:

1. A -> B  PING: A's state hash and, for a few pings after A's state
   changed or A met a peer that differs, its 32 slice hashes (one frame even
   at full capacity) and, in the room left, the slices that changed.  A
   fleet that has converged sends only the small ping (about 30 bytes).
2. B: equal state hash -> ACK with B's hash (true: it is B's own).  Unequal
   and no slice hashes -> B answers with its own PING with slice hashes, and
   the exchange goes on from there with the roles swapped.  Else, for
   every slice whose hash differs, B sends that slice as parts (each a
   self-contained delta, see ``ccrdt.delta``) with B's slice hash, the last
   part of a slice flagged LAST, all flagged REPLY.  Parts are packed
   together into DELTA frames of at most 250 bytes.
3. A joins each part.  After the LAST part of a slice, if A's slice hash
   still differs from B's, A holds something B lacks, so A sends its slice
   back (no REPLY).  B joins it and both sides are equal.

So one exchange leaves both sides equal (the seed needed two, and sent the
whole state as JSON each time), and only slices that differ travel.  A lost
frame only delays its own piece: the next exchange finds that slice still
differs.  A duplicated or replayed frame is refused before it is read
(``ccrdt.fresh``); were it joined, it would change nothing, since joins are
idempotent.

On a broadcast medium (ESP-NOW) a node also broadcasts its own changes
(``broadcast()``): one frame reaches every board in range and nobody
answers; changes heard from others are not repeated.  ``presence_into()``
is the small broadcast by which quiet boards find each other.

Payloads (after the 18-byte header of ``ccrdt.wire``):

    PING   u8 flags (1: slice hashes follow, 2: delta entries follow,
           4: broadcast, nobody answers), u32 state hash,
           u8 name length, name, u32 incarnation (the sender's: they
           must hash to its tag, see ``state.origin_tag``), u32 boot id
           (random per boot: the same tag with another boot id is another
           board with this origin), 6 bytes: the echo of the pinged board's
           latest frame heard (u32 sequence, u16 epoch, masked:
           ``ccrdt.fresh``; zeros: none),
           [32 x u32 slice hashes], [delta entries as in DELTA]
    DELTA  one or more entries, each: u8 flags (1 LAST, 2 REPLY),
           u32 sender's hash of the slice, u8 part length, part
    ACK    u32 state hash

``handle()`` never raises: a frame that is too short or long, of another
version or fleet, with a bad MAC, or malformed is dropped, counted by
reason, and leaves the state as it was; a part that needs room the tables
lack is refused alone (NO_ROOM) and the frame's other parts join.  A frame
seen before, or older than what its sender has shown (``ccrdt.fresh``), is
refused (REPLAYED) before anything else looks at it, as is a frame
addressed to another board (NOT_FOR_ME); answers to a sender are bounded
by what its fresh frames carried (a PING for any board, within its own
even from a validated sender).  Answers name the asker as receiver;
broadcasts, presence and a ping to a board not known yet are for any.  A
frame that holds more of this board's own origin than it has (its history
was lost here, or a neighbour forged it), or a frame with this board's own
tag that it never sent (a later epoch or sequence, another boot id), makes
the board go on as a new incarnation (``own_claims()``, ``clashes``), if
its tables have room for one.  It allocates nothing in steady state.
(``host_tests/drive.py`` drives nodes frame by frame on the host.)
"""
from struct import pack_into
import micropython
from micropython import const

from ccrdt import CapacityError, raw, wire
from ccrdt.fresh import Senders
from ccrdt.proto import (ACK, BAD_NAME, BCAST, DELTA, DIGEST, ENTRIES_MAX, ENTRY, LAST,
                         MALFORMED, NO_ROOM, NOT_FOR_ME, PART_MIN, PAYLOAD_END, PING, PUSH,
                         REASONS, REPLAYED, REPLY, UNKNOWN_KIND)
from ccrdt.delta import PART_MAX, OwnClaim
from ccrdt.layout import ID_MAX, SLICES, TAG_LIMIT
from ccrdt.state import ConstraintState, id_bytes, new_incarnation

# The flag sets a PING may carry; built once (from imported names a tuple
# would be built at every use).
_PING_FLAGS = (0, DIGEST, DIGEST | PUSH, PUSH | BCAST, BCAST)
# What handle() returns, as bits.
CHANGED = const(1)
CONVERGED = const(2)
_HOT_PINGS = const(3)  # pings with slice hashes after each change of state
_REFUSED = const(2)  # in _same: a part refused for lack of room (1: equal slice)
_EPOCH_MAX = const(0xFFFF)  # epochs are u16 on the wire


def _nowhere(buf, n):
    pass


class Packer:
    """Packs the parts of marked slices into frames.  begin(which) starts a
    sending; fill() writes entries until a frame is full and resumes, at the
    next call, with the slice a full frame cut; more() says whether any is
    left.  The cursor is the packer's own: a sending cannot inherit it."""

    def __init__(self, state):
        self.state = state
        self.writer = state.part_writer()
        self.which = bytearray(SLICES)  # the marks of the sending under way
        self.announce_empty = False
        self.cur = -1  # slice whose parts are being packed
        self.cur_empty = False

    def begin(self, which, announce_empty):
        """Pack the slices marked in which (clearing the marks as they are
        taken); announce_empty: an empty slice still tells its hash."""
        self.which, self.announce_empty, self.cur = which, announce_empty, -1

    def more(self):
        return self.cur >= 0 or raw.find8(self.which, SLICES, 1, 0) >= 0

    def fill(self, buf, o, flags):
        """Write delta entries from buf[o:] until the frame is full or no
        slice is left; returns the new end."""
        w, which = self.writer, self.which
        sh = self.state.slice_hashes()
        while True:
            if self.cur < 0:
                s = raw.find8(which, SLICES, 1, 0)
                if s < 0:
                    return o
                which[s] = 0
                w.start(s)
                if w.done and not self.announce_empty:
                    continue
                self.cur = s
                self.cur_empty = w.done
            s = self.cur
            room = PAYLOAD_END - o - ENTRY
            if room < PART_MIN:
                return o
            if self.cur_empty:
                raw.fill(buf, o + ENTRY, PART_MIN, 0)
                buf[o + ENTRY] = s
                n = PART_MIN
            else:
                n = w.next(buf, o + ENTRY, room)
                if n == 0:
                    return o
            done = self.cur_empty or w.done
            buf[o] = flags | (LAST if done else 0)
            raw.copy(buf, o + 1, sh, 4 * s, 4)
            buf[o + 5] = n
            o += ENTRY + n
            if done:
                self.cur = -1


class GossipNode:
    def __init__(self, node_id, key, fleet=1, max_nodes=32, max_constraints=64, burst=40,
                 state=None):
        self.node_id = node_id
        self.state = state or ConstraintState(node_id, max_nodes, max_constraints)
        max_nodes = self.state.max_nodes
        self.framer = wire.Framer(key, fleet, self.state.tag)
        self._name = id_bytes(node_id, "node id")
        # The buffer frames are built in; the node builds its own there too
        # (presence, pings, STATUS): every use ends before the next begins.
        self.tx = bytearray(wire.FRAME_MAX)
        self._want = bytearray(SLICES)  # slices to send in the current answer
        self._push = bytearray(SLICES)  # slices to carry in the next ping
        self._relay = bytearray(SLICES)  # slices to pass on at the next broadcast
        # A gateway between two broadcast media passes on what it heard by
        # broadcast too: the other medium did not hear it (see broadcast()).
        self.relay_broadcasts = False
        self._slice_hot = bytearray(SLICES)  # pings left to carry each slice
        self._pinged_sh = raw.zeros32(SLICES)  # slice hashes at the last ping
        self._same = bytearray(ENTRIES_MAX)  # per entry of a frame: 1 equal to ours, or _REFUSED
        self.senders = Senders(max_nodes, self.framer)  # replay windows and answer credit
        self.fresh_tag = -1  # sender of the frame handled last, if it was fresh
        self.fresh_sure = False  # and it was for this board from a validated sender
        self._asker = -1  # its row in senders: answers spend its credit
        self._withheld = False  # an answer to it found no credit left
        self._answer = self._answer_asker  # bound once: no allocation per frame
        self._emit = _nowhere
        self._reasons = raw.zeros32(REASONS)
        self._rounds = self._syncs = 0
        self.burst = burst  # frames sent at most in answer to one PING
        self._result = 0  # what handle() returns: CHANGED, CONVERGED bits
        self.clash_tag = self.clashes = 0  # PINGs of another board with this one's name
        self.boot = new_incarnation()  # tells this board's PINGs from a clone's
        self._own_claims = 0
        self.authentic = 0  # frames whose MAC was right
        self._hot = 0
        self._pinged_hash = -1
        self._mine = bytearray(SLICES)  # slices this node's own operations changed
        self.restore(self.state)

    def _answer_asker(self, buf, n):
        """emit for answers: only while their asker has credit (see
        ``ccrdt.fresh``)."""
        if self.senders.spend(self._asker, n):
            self._emit(buf, n)
        else:
            self._withheld = True

    # ---- local operations, as on the seed's GossipNode ---------------------
    def add_constraint(self, cid):
        self.state.add_constraint(cid)

    def remove_constraint(self, cid):
        return self.state.remove_constraint(cid)

    def record_satisfied(self, n=1):
        self.state.record_satisfied(n)

    def record_violations(self, n=1):
        self.state.record_violations(n)

    def update_position(self, pos):
        return self.state.update_position(pos)

    @property
    def clock(self):
        return self.state.clock()

    def state_hash(self):
        return self.state.state_hash()

    # ---- counters -------------------------------------------------------
    def rounds(self):
        """Frames received (the seed counts a round per received message)."""
        return self._rounds

    def syncs(self):
        """PINGs answered with deltas."""
        return self._syncs

    def peer_count(self):
        return self.senders.told_count()

    def rejected(self, reason=None):
        """Frames dropped: in all, or for one reason code."""
        if reason is not None:
            return self._reasons[reason]
        return sum(self._reasons)

    def _mark_mine(self, s):
        self._mine[s] = 1

    def restore(self, state):
        """Go on from state (at the start, or a snapshot read back as after a
        reboot): what reads and writes parts is bound to it.  Each start is
        a new epoch of this board's frames; its owner puts the state on
        flash before the first frame leaves (``ccrdt.node``), so no epoch
        and sequence is ever sent twice."""
        self.state = state
        self._reader = state.part_reader()
        self.packer = Packer(state)
        state.on_local_change = self._mark_mine
        self.new_epoch()

    def new_epoch(self):
        """Frames from now on carry the next epoch (raised in the state, so
        its next snapshot keeps it).  After the last epoch of an
        incarnation the board goes on as a new one."""
        st = self.state
        if st.epoch >= _EPOCH_MAX:
            st.reincarnate(new_incarnation())
            st.epoch = 0
        st.epoch += 1
        self.framer.tag = st.tag
        self.framer.new_epoch(st.epoch)

    def reincarnate(self, incarnation):
        """This board goes on as a new incarnation (``state.reincarnate``);
        its frames carry the new tag from now on."""
        self.state.reincarnate(incarnation)
        self.framer.tag = self.state.tag

    def own_claims(self):
        """Frames that held more of this node's origin (a context, a row)
        than it had: each made it go on as a new incarnation."""
        return self._own_claims

    def peer_hash(self, tag):
        """The state hash the board of tag last told this one, or None."""
        return self.senders.told_hash(tag)

    # ---- frames out -----------------------------------------------------
    def ping_into(self, buf, digest=False, to=-1):
        """A PING for the board of tag to (-1: unknown).  While the state
        keeps changing (for a few pings after each change) it carries the
        slice hashes and, in the room left, the slices that changed: fresh
        news then needs one frame to arrive, not the three legs of an
        exchange."""
        st = self.state
        h = st.state_hash()
        sh = st.slice_hashes()
        if h != self._pinged_hash:
            self._pinged_hash = h
            self._hot = _HOT_PINGS
            for s in range(SLICES):
                if not raw.equal(sh, 4 * s, self._pinged_sh, 4 * s, 4):
                    self._slice_hot[s] = _HOT_PINGS
            raw.copy(self._pinged_sh, 0, sh, 0, 4 * SLICES)
        if self._hot:
            self._hot -= 1
            digest = True
        o = self._ping_header(buf, 0, to)
        flags = 0
        if digest:
            flags = DIGEST
            raw.copy(buf, o, sh, 0, 4 * SLICES)
            o += 4 * SLICES
            push, hot = self._push, self._slice_hot
            for s in range(SLICES):
                push[s] = 1 if hot[s] else 0
                if hot[s]:
                    hot[s] -= 1
            start = o
            self.packer.begin(push, False)
            o = self.packer.fill(buf, o, 0)
            raw.fill(push, 0, SLICES, 0)
            if o > start:
                flags |= PUSH
        buf[wire.HEADER] = flags
        return self.framer.seal(buf, o)

    def _ping_header(self, buf, flags, to=-1):
        """Header, flags, state hash, name, incarnation, boot id and echo
        of a PING for the board of tag to (-1: any); returns where the rest
        goes."""
        o = self.framer.begin(buf, PING, to)
        buf[o] = flags
        pack_into("<I", buf, o + 1, self.state.state_hash())
        L = len(self._name)
        buf[o + 5] = L
        raw.copy(buf, o + 6, self._name, 0, L)
        pack_into("<II", buf, o + 6 + L, self.state.incarnation, self.boot)
        self.senders.echo_into(buf, o + 14 + L, to)
        return o + 20 + L

    def broadcast(self, emit):
        """Frames for everyone in radio range carrying the slices that this
        node's own operations changed since its last broadcast, and those a
        unicast exchange repaired (a broadcast the neighbours may have missed
        too); returns how many went to emit.  One frame on air reaches the
        whole channel; receivers join it and answer nothing.  What arrived by
        broadcast is not repeated, the neighbours heard it as well, except
        by a gateway (relay_broadcasts), whose other medium did not."""
        push, buf, relay, mine = self._push, self.tx, self._relay, self._mine
        for s in range(SLICES):
            push[s] = mine[s] | relay[s]
        raw.fill(mine, 0, SLICES, 0)
        raw.fill(relay, 0, SLICES, 0)
        frames = 0
        self.packer.begin(push, False)
        while True:
            start = self._ping_header(buf, PUSH | BCAST)
            o = self.packer.fill(buf, start, 0)
            if o == start:
                break
            emit(buf, self.framer.seal(buf, o))
            frames += 1
        if frames:
            self._announced()
        return frames

    def _announced(self):
        """The current state counts as told: pings stay small until it changes."""
        self._pinged_hash = self.state.state_hash()
        raw.copy(self._pinged_sh, 0, self.state.slice_hashes(), 0, 4 * SLICES)

    def presence_into(self, buf):
        """A small broadcast PING that answers nothing: boards in range learn
        this one exists (and its MAC), and include it in their anti-entropy."""
        return self.framer.seal(buf, self._ping_header(buf, BCAST))

    def send_all(self, emit):
        """Every slice as DELTA frames, unasked (no REPLY): what a node sends
        back when a peer lacks what it holds, for all slices at once (a
        benchmark of the encode and join paths); returns how many frames."""
        raw.fill(self._want, 0, SLICES, 1)
        self._withheld = False
        return self._send_slices(0, SLICES, emit, -1)

    def _send_slices(self, flags, budget, emit, to):
        """Emit the slices marked in self._want as DELTA frames for the
        board of tag to, packing parts together, at most budget frames;
        returns how many were sent."""
        buf, want, p = self.tx, self._want, self.packer
        frames = 0
        p.begin(want, True)
        while True:
            start = self.framer.begin(buf, DELTA, to)
            o = p.fill(buf, start, flags)
            if o == start:
                break
            emit(buf, self.framer.seal(buf, o))
            frames += 1
            if not p.more():
                break
            if frames >= budget or self._withheld:  # the rest waits for the next exchange
                raw.fill(want, 0, SLICES, 0)
                break
        return frames

    def _send_ack(self, emit, to):
        buf = self.tx
        o = self.framer.begin(buf, ACK, to)
        pack_into("<I", buf, o, self.state.state_hash())
        emit(buf, self.framer.seal(buf, o + 4))

    # ---- frames in ------------------------------------------------------
    def handle(self, frame, n, emit, home=True):
        """Process one received frame of n bytes; responses go to emit(buf, n).
        home: it came from where its sender was heard before (the runtime
        knows; see ``Senders.elsewhere``).  Returns CHANGED | CONVERGED
        bits: the state changed, the sender's hash equals ours.  Never
        raises."""
        self._rounds += 1
        self._result = 0
        self.fresh_tag = -1
        self.fresh_sure = False
        try:
            code = self.framer.check(frame, n)
            if code:
                self._reasons[code] += 1
                return 0
            self.authentic += 1
            tag = wire.sender(frame)
            k = wire.kind(frame)
            end = n - wire.MAC_LEN
            epoch = wire.epoch(frame)  # two statements: a tuple assignment allocates here
            seq = wire.seq(frame)
            if seq <= 0:
                self._reasons[MALFORMED] += 1
                return 0
            if tag == self.state.tag:
                self._own_tag(frame, end, k, epoch, seq)
                return 0
            if k != PING and k != DELTA and k != ACK:
                # A STATUS frame is for monitors (sent here by an outsider
                # who recorded one): it must not pass as a fresh gossip frame.
                self._reasons[UNKNOWN_KIND] += 1
                return 0
            to = wire.receiver(frame)
            if to >= 0 and to != self.state.tag:
                # Recorded on its way to another board: news here, since
                # sequence numbers are the sender's, but not for this board.
                self._reasons[NOT_FOR_ME] += 1
                return 0
            self._asker = self.senders.admit(tag, epoch, seq, n)
            if self._asker < 0:
                self._reasons[REPLAYED] += 1
                return 0
            if not home:
                self.senders.elsewhere(self._asker, n)
            self.fresh_tag = tag
            self._emit = emit
            self._withheld = False
            emit = self._answer
            if k == PING:
                self._on_ping(frame, end, tag, emit, to >= 0)
            elif k == DELTA:
                self._on_delta(frame, end, emit)
            else:
                self._on_ack(frame, end, tag)
            self.fresh_sure = home and to >= 0 and self.senders.validated(self._asker)
        except CapacityError:
            self._reasons[NO_ROOM] += 1
        except Exception:  # ValueError from a malformed payload, or worse
            self._reasons[MALFORMED] += 1
        return self._result

    def _own_tag(self, f, end, k, epoch, seq):
        """A frame with this board's own tag: its own, looped back or sent
        again (ignored), one of an earlier epoch (a recording: refused), or
        one it never sent, which another live board with this very origin
        did (a cloned flash): they would share dots and a row, so this one
        moves on, if the tables have room for a new incarnation."""
        fr = self.framer
        if epoch < fr.epoch:
            self._reasons[REPLAYED] += 1
            return
        if epoch == fr.epoch and seq <= fr.seq and not (k == PING and self._other_boot(f, end)):
            return
        self.clash_tag, self.clashes = self.state.tag, self.clashes + 1
        self._new_life()

    def _other_boot(self, f, end):
        """True if the PING in f[:end] carries a boot id other than ours."""
        o = wire.HEADER
        if end <= o + 5 or o + 14 + f[o + 5] > end:
            return False
        return raw.below(f, o + 10 + f[o + 5], TAG_LIMIT) != self.boot

    def _new_life(self):
        """Go on as a new incarnation, taking new dots for the constraints
        this board holds (as if it added them again), so that whatever
        others hold of the old origin erases none of them.  CapacityError
        (nothing changed) if the node table has no slot for it."""
        if len(self.state.nodes()) >= self.state.max_nodes:
            raise CapacityError("no slot for a new incarnation")
        mine = self.state.own_constraints()
        self.reincarnate(new_incarnation())
        for cid in mine:
            self.state.add_constraint(cid)

    def _on_ping(self, f, end, tag, emit, direct):
        o = wire.HEADER
        st = self.state
        flags = f[o] if end > o + 5 else 0xFF
        L = f[o + 5] if end > o + 5 else 0xFF
        d = o + 20 + L  # where slice hashes start
        e = d + (4 * SLICES if flags & DIGEST else 0)  # where pushed entries start
        if (flags not in _PING_FLAGS or L > ID_MAX or e > end
                or (e == end) != (not flags & PUSH)):
            self._reasons[MALFORMED] += 1
            return
        if not st.name_matches(tag, f, o + 6, L, raw.below(f, o + 6 + L, TAG_LIMIT)):
            self._reasons[BAD_NAME] += 1
            return
        if not flags & BCAST and not direct:
            self.senders.stranger(self._asker, end + wire.MAC_LEN)
        self.senders.validate(self._asker, f, o + 14 + L)
        if st.is_own_name(f, o + 6, L) and self.senders.validated(self._asker):
            # Another live board has this board's name: it hears this one
            # now (a recording of a predecessor's PING is none).
            self.clash_tag = tag
            self.clashes += 1
        cold = st.state_hash() == self._pinged_hash
        if flags & PUSH:
            self._join_entries(f, e, end, not flags & BCAST or self.relay_broadcasts)
            raw.fill(self._want, 0, SLICES, 0)  # the digest decides what to answer
        st.remember_name(tag, f, o + 6, L)
        if flags & BCAST:
            if cold:  # the neighbours heard it too: nothing to announce
                self._announced()
            return
        theirs = raw.u32(f, o + 1)
        self.senders.note_hash(self._asker, theirs)
        if theirs == st.state_hash():
            self._result |= CONVERGED
            self._send_ack(emit, tag)
            return
        self._hot = _HOT_PINGS  # a peer differs: our next pings carry digests
        if not flags & DIGEST:  # they do not know where we differ: show them
            emit(self.tx, self.ping_into(self.tx, True, tag))
            return
        self._syncs += 1
        sh = st.slice_hashes()
        for s in range(SLICES):
            self._want[s] = not raw.equal(f, d + 4 * s, sh, 4 * s, 4)
        self._send_slices(REPLY, self.burst, emit, tag)

    def _on_delta(self, f, end, emit):
        if end == wire.HEADER:
            raise ValueError("empty delta")
        if self._join_entries(f, wire.HEADER, end, True):
            self._send_slices(0, SLICES, emit, self.fresh_tag)

    @micropython.native
    def _join_entries(self, f, o, end, relay):
        """Check every delta entry in f[o:end], then join them all; relay:
        mark the slices they change for the next broadcast.  Marks in
        self._want the slices that still differ after their LAST part when
        the sender asked for a reply; returns True if there are any.

        An entry whose slice hash equals ours is not joined: equal hashes
        mean equal slices (the premise of every digest comparison here), so
        it cannot change anything.  Duplicates and echoes cost little."""
        r, same = self._reader, self._same
        r.begin()
        sh = self.state.slice_hashes()
        begin = o
        i = 0
        while o < end:
            if o + ENTRY > end or f[o] & ~(LAST | REPLY) or i == ENTRIES_MAX:
                raise ValueError("delta entry header")
            n = f[o + 5]
            if n < PART_MIN or n > PART_MAX or o + ENTRY + n > end or f[o + ENTRY] >= SLICES:
                raise ValueError("delta entry length")
            same[i] = raw.equal(f, o + 1, sh, 4 * f[o + ENTRY], 4)
            if not same[i]:
                try:
                    r.check(f, o + ENTRY, n, True)
                except CapacityError:  # refused alone: the other parts still join
                    self._reasons[NO_ROOM] += 1
                    same[i] = _REFUSED
                except OwnClaim:
                    # Someone holds more of this board's origin than it has:
                    # its history was lost here, or a neighbour forged it.
                    # Either way a new incarnation is safe, and the frame
                    # then joins as news of another origin.
                    self._new_life()
                    self._own_claims += 1
                    return self._join_entries(f, begin, end, relay)
            o += ENTRY + n
            i += 1
        o = begin
        i = 0
        want, reply = self._want, False
        while o < end:
            n = f[o + 5]
            s = f[o + ENTRY]
            if not same[i]:
                if r.apply(f, o + ENTRY, n):
                    self._result |= CHANGED
                    if relay:
                        self._relay[s] = 1
            if same[i] != _REFUSED:
                flags = f[o]
                if flags & LAST and flags & REPLY:
                    if not raw.equal(f, o + 1, self.state.slice_hashes(), 4 * s, 4):
                        want[s] = 1
                        reply = True
            o += ENTRY + n
            i += 1
        return reply

    def _on_ack(self, f, end, tag):
        if end != wire.HEADER + 4:
            self._reasons[MALFORMED] += 1
            return
        h = raw.u32(f, wire.HEADER)
        self.senders.note_hash(self._asker, h)
        if h == self.state.state_hash():
            self._result |= CONVERGED
        else:
            self._hot = _HOT_PINGS

    def __str__(self):
        return "GossipNode(%s, %d constraints, %d peers, %d rounds, hash=%08x)" % (
            self.node_id, self.state.active_constraint_count(), self.peer_count(),
            self._rounds, self.state_hash())

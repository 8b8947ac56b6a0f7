"""Which frames are fresh: a replay window per sender, and what a sender
may be answered.

Anyone in range can record an authentic frame and send it again, from any
source address, without the key.  Every frame carries its sender's epoch
(raised at every boot and kept on flash before the first frame) and a
sequence number (``ccrdt.wire``), so (epoch, sequence) only grows for one
sender tag.  As IPsec ESP (RFC 4303 section 3.4.3) and DTLS (RFC 6347
section 4.1.2.6) do, a receiver keeps per sender the highest pair seen and
a window of the 30 sequence numbers just below it (30 bits: a small int
on every port): a frame already in the window, below it, or of an earlier
epoch is refused before it can join anything, teach a peer, be answered or
move a monitor's view.  Frames that arrive out of order within the window
are still taken.

Answers are bounded as QUIC bounds what it sends an address it has not
validated (RFC 9000 section 8): a fresh frame of a sender earns it credit
of ``FACTOR`` times its length, in place of what was left, and every
answer spends its length, so a recorded frame sent from a spoofed address
brings at most three times its size back, never a full sync, whatever the
sender's own frames earned before.  A sender is validated, and answered in
full from then on, once a PING of it carries this node's *echo*: which of
this node's last ``ECHO_WINDOW`` frames it heard, with the whole sequence
number and this node's epoch, masked by this node's tag (``echo_into``).
Only a board that hears this one now can write it; a PING recorded on its
way to another board echoes that board, one recorded in an earlier epoch
names that epoch, and one lost here and sent again is not its sender's
newest.  So two boards' first exchange is bounded, and every later one is
not.  A frame addressed to any board rather than to this one
(``wire.receiver``), and one older than its sender's newest, is answered
within its own credit even from a validated sender (``stranger``,
``admit``): a recording of it may come from anywhere.

The table has a fixed number of rows (the node table's size), taken in
turn when it is full, a validated sender's last: forgetting a sender can
let one recorded frame of it through once, never refuse its new ones.  A
row taken from another sender is validated only by an echo of a frame
this node sent after it was taken (``taken_at``): otherwise recordings of
more senders than rows, sent in turn, would each pass as fresh and the
validated one's recorded PING would earn a full answer every time.  Each row also keeps the state
hash the sender last told (``note_hash``): the gossip's view of its peers.

``skipped`` counts the sequence numbers of known senders that never
arrived here: frames lost on the way (radio, socket buffer) or sent to
other boards, an upper bound on losses that the operator sees beside the
receive queue's own drops.
"""
from struct import pack_into

from micropython import const

from ccrdt import raw

FACTOR = const(3)  # answers per byte a sender's fresh frames carried
ECHO_WINDOW = const(1 << 16)  # an echo names one of this node's last 65 536 frames
_VALID = const(1 << 16)  # the credit of a validated sender (no frame earns as much): unbounded
WINDOW = const(30)  # sequence numbers below the newest that are still taken
_WIN = const(3)  # words per row: epoch, newest sequence, window bits (30: small ints)
_BITS = const((1 << WINDOW) - 1)
_LIMIT = const(1 << 30)
_COUNT_MAX = const(_LIMIT - 1)  # counts saturate: small ints on every port
_OLD = const(0)  # what _slide found: seen, or older than the window
_NEWEST = const(1)
_LATE = const(2)  # below the newest, within the window, not seen yet
_TOLD = const(1)  # row flags: hashes holds a told hash
_TAKEN = const(2)  # the row was taken from another sender (see taken_at)


class Senders:
    """Replay windows, answer credit and told hashes of up to rows senders;
    own: the Framer of this node's frames, whose echoes validate a sender
    (None: nobody is validated, as in a monitor)."""

    def __init__(self, rows, own=None):
        self.rows = rows
        self.own = own
        self.tags = raw.zeros32(rows)
        self.win = raw.zeros32(rows * _WIN)
        self.credit = raw.zeros32(rows)
        self.hashes = raw.zeros32(rows)
        self.flags = bytearray(rows)  # _TOLD, _TAKEN
        self.count = 0
        self._next = 0  # the row a new sender takes once the table is full
        # This node's epoch and sequence when a row was last taken from
        # another sender: echoes of its frames up to then validate no such row.
        self.taken_epoch = self.taken_at = 0
        # The frame admitted last cannot validate its sender: it is below
        # the sender's newest, or came from elsewhere (see ``elsewhere``).
        self.unproven = False
        self.skipped = 0  # sequence numbers of known senders that never came here
        self.withheld = 0  # answers not sent: their sender had no credit left

    def admit(self, tag, epoch, seq, n):
        """The row of a fresh frame of n bytes from tag, or -1 if it was
        seen before or is older than what tag has shown.  A sender not
        validated may be answered FACTOR times this frame (credit does not
        carry over: what its other frames earned is no recording's to
        spend); so may a validated one for a frame older than its newest (a
        frame lost here, sent again by someone), until its next echo."""
        i = raw.find32(self.tags, self.count, tag, 0)
        if i < 0:
            i = self._row_for(tag)
            self._reset(i, epoch, seq, 0)
            late = False
        else:
            k = self._slide(i, epoch, seq)
            if k == _OLD:
                return -1
            late = k == _LATE
        self.unproven = late
        if late or self.credit[i] < _VALID:
            self.credit[i] = FACTOR * n
        return i

    def _reset(self, i, epoch, seq, skipped):
        w = i * _WIN
        self.win[w] = epoch
        self.win[w + 1] = seq
        self.win[w + 2] = 1
        self._skip(skipped)

    def _slide(self, i, epoch, seq):
        """Admit (epoch, seq) into row i's window: _NEWEST, _LATE (below the
        newest, not seen), or _OLD if it was seen or is older than the
        window."""
        win, w = self.win, i * _WIN
        if epoch != win[w]:
            if epoch < win[w]:
                return _OLD
            self._reset(i, epoch, seq, seq - 1)  # 1..seq-1 of the new epoch did not come here
            return _NEWEST
        top = win[w + 1]
        if seq > top:
            d = seq - top
            win[w + 1] = seq
            # Masked before the shift: every value stays below 2**30.
            win[w + 2] = ((win[w + 2] & (_BITS >> d)) << d) | 1 if d < WINDOW else 1
            self._skip(d - 1)
            return _NEWEST
        d = top - seq
        if d >= WINDOW or win[w + 2] >> d & 1:
            return _OLD
        win[w + 2] |= 1 << d
        self._skip(-1)  # late, not lost: it was counted as skipped when it was passed
        return _LATE

    def _skip(self, d):
        # An estimate: a late frame may predate what was counted.
        if 0 <= self.skipped + d < _COUNT_MAX:
            self.skipped += d

    def echo_into(self, buf, off, tag):
        """Write at buf[off:] the 6-byte echo of the latest frame heard from
        tag: u32 its sequence xor tag, u16 its epoch xor tag's high bits, so
        that no two boards' echoes line up (zeros if tag was not heard).
        Every value is a small int: the sequence and tag are 30 bits."""
        i = raw.find32(self.tags, self.count, tag, 0)
        if i < 0:
            pack_into("<IH", buf, off, 0, 0)
        else:
            w = i * _WIN
            pack_into("<IH", buf, off, self.win[w + 1] ^ tag, self.win[w] ^ (tag >> 16))

    def validate(self, i, buf, off):
        """Row i's sender is validated if the echo at buf[off:], in the
        frame admitted last, names one of the last ECHO_WINDOW frames of
        this node's epoch now, and that frame was its sender's newest (a
        late one may be a recording of a frame lost here), from where its
        sender was heard before."""
        own = self.own
        e = raw.below(buf, off, _LIMIT)
        if own is None or self.unproven or e <= 0:
            return  # nothing echoed (or a value no echo has)
        if raw.u16(buf, off + 4) ^ (own.tag >> 16) != own.epoch:
            return
        d = e ^ own.tag  # the sequence number echoed
        if not 0 < d <= own.seq or own.seq - d >= ECHO_WINDOW:
            return
        if self.flags[i] & _TAKEN and own.epoch == self.taken_epoch and d <= self.taken_at:
            return  # heard before this sender had the row: a recording can say that
        self.credit[i] = _VALID

    def stranger(self, i, n):
        """Row i's sender asked, in a frame of n bytes, for an answer from
        any board: it is answered within that frame's credit, even if it
        was validated, and validated again by its next echo."""
        self.credit[i] = FACTOR * n

    def elsewhere(self, i, n):
        """The frame of n bytes admitted last for row i came from another
        address than the one its sender was heard at (or from a board not
        heard yet): a recording of a frame lost here can; it is answered
        within its own credit and validates nothing.  A board that moved is
        heard at its new address once the old one is dropped for silence."""
        self.credit[i] = FACTOR * n
        self.unproven = True

    def validated(self, i):
        """True if row i's sender echoed a recent frame of this node: a
        board that hears this one now, never a recording."""
        return i >= 0 and self.credit[i] == _VALID

    def spend(self, i, n):
        """True if row i's sender may be sent n more bytes (then spent, if
        it is not validated)."""
        c = self.credit[i] if i >= 0 else 0
        if c == _VALID:
            return True
        if c < n:
            if self.withheld < _COUNT_MAX:
                self.withheld += 1
            return False
        self.credit[i] = c - n
        return True

    def note_hash(self, i, h):
        """Row i's sender told its state hash h."""
        self.hashes[i] = h
        self.flags[i] |= _TOLD

    def told_hash(self, tag):
        """The state hash tag last told, or None."""
        i = raw.find32(self.tags, self.count, tag, 0)
        return self.hashes[i] if i >= 0 and self.flags[i] & _TOLD else None

    def told_count(self):
        """How many senders told their state hash: the peers in view."""
        n = 0
        for i in range(self.count):
            n += self.flags[i] & _TOLD
        return n

    def _row_for(self, tag):
        """A row for a new sender: a free one, or the next in turn."""
        if self.count < self.rows:
            i = self.count
            self.count += 1
            self.flags[i] = 0
        else:
            # The next in turn that is not validated: recordings of more
            # senders than rows, sent in turn, must not keep taking the row
            # of a board that hears this one now (it would never be answered
            # in full again).  All validated: the next in turn.
            i = self._next
            for _ in range(self.rows):
                if self.credit[i] != _VALID:
                    break
                i = (i + 1) % self.rows
            self._next = (i + 1) % self.rows
            self.flags[i] = _TAKEN
            if self.own is not None:
                self.taken_epoch = self.own.epoch
                self.taken_at = self.own.seq
        self.tags[i] = tag
        self.credit[i] = 0
        return i

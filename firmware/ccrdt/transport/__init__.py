"""Transports move frames; they know nothing of their content.

Every transport (udp, espnow, mqtt, and the host tests' in-memory one)
offers the node the same edge:

    kind                   its name in the config ("udp", ...)
    broadcasts             True if broadcast() reaches every node of its medium
    receives               False where nothing can arrive (a UDP socket that
                           only sends STATUS): the node runs no receive task
    await recv_into(buf)   wait for one frame, copy what fits into buf and
                           return its real length (longer than buf: oversized)
    sender(into)           the last frame's source, as send() takes it; a
                           transport whose driver reuses its buffer copies
                           it into `into` (a receive slot's bytearray(6))
    send(addr, buf, n)     buf[:n] to one node; False if it did not leave
    broadcast(buf, n)      buf[:n] to every node of the medium
    status(buf, n)         a STATUS frame to this transport's monitor, if any
    peer_count(), send_to_peer(i, buf, n), peer_tag(i)
                           the peers anti-entropy picks from, and the
                           sender tag last heard from peer i (-1: none)
    heard(addr, tag, sure) a fresh authentic frame of sender tag came from
                           addr: a peer (``Peers`` keeps them; a learned
                           one silent for SILENT_MAX pings is dropped)
    peers                  its Peers (``home_of``: is addr where tag is)
    sent, send_errors      counts for the operator
    close()

and optionally ``async run()``, a task that keeps a connection up.  None of
them raises from send(): a frame that cannot leave is counted, and
anti-entropy repairs what it would have carried.
"""
from micropython import const

SILENT_MAX = const(12)  # pings a learned peer may leave without a frame back


class Peers:
    """The peers a transport pings for anti-entropy: the configured ones
    first, which stay, then those learned from frames, the least recently
    heard first; at most ``learned`` of those, the oldest making room.

    Only fresh authentic frames teach a peer (the node calls ``heard``
    after ``ccrdt.fresh`` admitted the frame, never for its own), and each
    sender tag has one address and each address one tag: a frame recorded
    and sent again from elsewhere takes at most one place, and the board's
    next frame from its own address takes it back.  ``extra`` keeps what
    ``derive`` makes of each address (the MQTT topic of a gateway)."""

    def __init__(self, fixed, learned, keep=None, derive=None):
        self.addrs = list(fixed)
        self.tags = [-1] * len(self.addrs)
        self.silent = [0] * len(self.addrs)  # pings since the peer's last sure frame
        self.derive = derive
        self.extra: list = [derive(a) for a in self.addrs] if derive else []
        self.fixed = len(self.addrs)
        self.learned = learned
        self.keep = keep  # makes the copy of an address that is kept
        self.evicted = None  # the address the last new one replaced

    def home_of(self, addr, tag):
        """True if addr is where tag was heard: its peer there."""
        i = self.find(addr)
        return i >= 0 and self.tags[i] == tag

    def find(self, addr):
        addrs = self.addrs
        for i in range(len(addrs)):  # an index loop: no iterator object per frame
            if addrs[i] == addr:
                return i
        return -1

    def heard(self, addr, tag, sure=True):
        """A fresh frame of tag came from addr (tag -1: addr is answered
        before its frame is known to be fresh); returns True if addr is new
        (then ``evicted`` is the address it replaced, or None).  sure: the
        frame was for this board from a validated sender; one that is not
        (a broadcast, a ping for any board: a recording played from
        anywhere could be either) may add a board not known here, never
        move one to another address or tag.  A known address allocates
        nothing."""
        addrs, tags = self.addrs, self.tags
        self.evicted = None
        i = self.find(addr)
        if tag >= 0 and (i < 0 or tags[i] != tag):  # at its own address: nowhere else
            for j in range(len(addrs)):  # configured rows too: one address per tag
                if tags[j] == tag and j != i:  # heard elsewhere before
                    if not sure:  # a recording played from here, perhaps
                        return False
                    if j < self.fixed:  # the board is here now
                        tags[j] = -1
                    else:
                        self._drop(j)
                        i = self.find(addr)
                    break
        if i >= 0:
            # The board answers from here (a recording of it played from
            # here buys at most SILENT_MAX more pings).
            if sure or tags[i] == tag:
                self.silent[i] = 0
            if tag >= 0 and (sure or tags[i] < 0):  # a tag known elsewhere was refused above
                tags[i] = tag
            if i >= self.fixed:  # most recently heard last
                self._to_end(i)
            return False
        if self.evicted is None and len(addrs) - self.fixed >= self.learned:
            self._drop(self.fixed)
        addrs.append(self.keep(addr) if self.keep else addr)
        tags.append(tag)
        self.silent.append(0)
        derive = self.derive
        if derive is not None:
            self.extra.append(derive(addrs[-1]))
        return True

    def pinged(self, i):
        """A ping went to peer i.  A learned peer that sent nothing back
        from there for SILENT_MAX pings is dropped (the board is gone, or a
        recording played from another address taught it: pinging it would
        reflect this board's traffic there for good); True then, with its
        address in ``evicted``.  It is learned again when it is heard.  A
        configured one forgets its tag instead: the board there may be a
        new incarnation, whose next frame teaches its tag."""
        self.silent[i] += 1
        if self.silent[i] <= SILENT_MAX:
            return False
        if i < self.fixed:
            self.tags[i] = -1
            self.silent[i] = 0
            return False
        self._drop(i)
        return True

    def _to_end(self, i):
        _to_end(self.addrs, i)
        _to_end(self.tags, i)
        _to_end(self.silent, i)
        if self.derive is not None:
            _to_end(self.extra, i)

    def _drop(self, i):
        self.evicted = self.addrs.pop(i)
        self.tags.pop(i)
        self.silent.pop(i)
        if self.derive is not None:
            self.extra.pop(i)


def _to_end(lst, i):
    """Move lst[i] to the end in place (a pop and an append may reallocate)."""
    v = lst[i]
    for j in range(i, len(lst) - 1):
        lst[j] = lst[j + 1]
    lst[-1] = v

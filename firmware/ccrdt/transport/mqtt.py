"""MQTT transport for gateway boards: joins a radio cluster to other sites
through a broker, which carries the fleet's authenticated frames unchanged
and is no member.  MicroPython only, with micropython-lib's umqtt.simple
(``mpremote mip install umqtt.simple``).

Topics (P: config ``mqtt.prefix``, "ccrdt/<fleet>" by default), QoS 0, not
retained, client id "ccrdt-<name>-<random per start>" (two gateways given
one name by mistake must not knock each other off the broker):

    P/b/<name>       frames gateway <name> broadcasts; every gateway
                     subscribes P/b/+ (its own come back, and its gossip
                     knows them by their tag: a twin with its name is
                     another tag, and the clash is seen as on the radio)
    P/u/<to>/<from>  a frame for gateway <to> from <from>; <to> subscribes
                     P/u/<to>/+
    P/s/<name>       STATUS frames of node <name>

``run()`` keeps the connection: it connects, subscribes, pings, and while
the broker or the network is away retries with exponential backoff
(0.5 s doubling to 30 s).  umqtt's connect blocks, and so does waiting for
the broker's SUBACK: an attempt holds the loop for at most a few short
socket timeouts (and a name lookup).  Frames sent while disconnected are
dropped and counted in ``send_errors``: anti-entropy repairs what they
carried.

Receiving is bounded.  Anyone the broker lets publish on the fleet's topics,
with or without the fleet key, chooses the length of what a gateway reads:
up to 256 MB of payload and 64 KB of topic per message.  umqtt.simple reads
a PUBLISH by allocating its topic and its payload at the announced lengths
(``wait_msg()``; ``subscribe()`` waits for its SUBACK through it too): 1 MB
is a MemoryError on a 32-bit board, and one that fails mid-message leaves
the stream out of step, so that payload bytes are read as packet lengths.
That method is the whole of umqtt's receive path, so a subclass would
replace all of it; the transport keeps umqtt for what it sends (connect,
publish, ping, disconnect) and reads the broker's packets itself, into
preallocated buffers: a read buffer (_RBUF bytes, what one socket read
takes), the topic of the longest topic a gateway can send it, and the
caller's frame buffer.  A message is copied up to what fits and the rest is
skipped as it passes through the read buffer, never allocated:

* a payload longer than a frame (``ccrdt.proto.FRAME_MAX``) is copied up
  to len(buf) and recv_into() returns its real length, which the node
  refuses as oversized;
* a topic longer than the longest a gateway has (its name at most
  ``ccrdt.layout.ID_MAX`` bytes) is no gateway's: the message is skipped
  whole and recv_into() does not return it.

Both are counted in ``oversized``.  The socket is read without blocking, at
most _BURST bytes before other tasks get their turn, and a broker that
stalls mid-message is waited for like any other (the keepalive notices a
silent one), so neither a long message nor a slow broker holds the loop;
between reads the socket keeps its 2 s timeout for what umqtt writes.  A
normal frame allocates nothing in the transport; what the wait for a
readable socket costs is asyncio's (see recv_into).
"""
import asyncio
import select

from micropython import const
from umqtt.simple import MQTTClient, MQTTException

from ccrdt import raw
from ccrdt.compat import readable, ticks_diff, ticks_ms
from ccrdt.layout import ID_MAX
from ccrdt.proto import FRAME_MAX
from ccrdt.transport import Peers

_TIMEOUT_S = const(2)  # a socket operation waits at most this long
_TIMEOUT_MS = const(2000)
_BACKOFF_MIN_MS = const(500)
_BACKOFF_MAX_MS = const(30000)
_STEP_MS = const(250)  # how often run() looks at the connection
_MAX_PEERS = const(8)
_RBUF = const(256)  # bytes one read takes from the socket
_BURST = const(4096)  # bytes recv_into() reads before it lets other tasks run
# What a refused, cut or garbled connection raises: umqtt's connect indexes
# a short CONNACK; the packet reader raises MQTTException.
_BROKEN = (OSError, IndexError, AssertionError, MQTTException)
# The packet reader's states.
_HEAD = const(0)  # the first byte of the next packet
_LEN = const(1)  # its remaining length: 1 to 4 bytes
_TLEN = const(2)  # a PUBLISH's topic length: 2 bytes
_TOPIC = const(3)  # its topic
_PID = const(4)  # its packet id, at QoS 1 and 2 only
_PAY = const(5)  # its payload, copied while it fits
_SKIP = const(6)  # the rest of a packet that is not kept
# What _parse() returns when it completed no frame.
_MORE = const(-1)  # it used the read buffer up
_DONE = const(-2)  # a packet for the transport itself (or a skipped one) ended
_BUSY = const(-3)  # (recv_into) _BURST bytes read: other tasks' turn
_SUBACK = const(0x90)
# Packet types a broker sends a client (MQTT 3.1.1): CONNACK, PUBLISH,
# PUBACK, PUBREC, PUBREL, PUBCOMP, SUBACK, UNSUBACK, PINGRESP.
_SERVER_TYPES = const(0b0010101011111100)
_NOWHERE = bytearray(0)  # where frames go that arrive before the SUBACK


def _subscribe_packet(filters):
    """One SUBSCRIBE (packet id 1, QoS 0) of every filter."""
    body = b"\x00\x01"
    for f in filters:
        body += bytes((len(f) >> 8, len(f) & 255)) + f + b"\x00"
    n, head = len(body), b""
    while True:
        head += bytes(((n & 127) | (128 if n > 127 else 0),))
        n >>= 7
        if not n:
            return b"\x82" + head + body


class MqttTransport:
    kind = "mqtt"
    broadcasts = receives = True

    def __init__(self, name, host, port=1883, prefix="ccrdt/1", user=None, password=None,
                 log=print, keepalive_s=30):
        self.name = name.encode()
        p = prefix.encode()
        self._u = p + b"/u/"  # + <to> + b"/" + own name: a unicast topic
        self._bcast = p + b"/b/" + self.name
        self._status = p + b"/s/" + self.name
        self._subscribe = _subscribe_packet((p + b"/b/+", self._u + self.name + b"/+"))
        # Where the sender's name starts in a received topic.
        self._from_b = len(p) + 3
        self._from_u = len(self._u) + len(self.name) + 1
        self.where = "mqtt %s:%d" % (host, port)
        self.log = log
        self.keepalive_ms = keepalive_s * 1000
        import random
        self.client = MQTTClient("ccrdt-%s-%08x" % (name, random.getrandbits(30)), host, port,
                                 user, password or "", keepalive_s)
        self.sock = None  # the connected socket; None while disconnected
        self.up = asyncio.Event()
        # The gateways heard (names), least recently heard first, with the
        # unicast topic of each.
        self.peers = Peers((), _MAX_PEERS, bytes, self._unicast_topic)
        self.sent = self.send_errors = self.connects = self.disconnects = 0
        self.oversized = 0  # messages longer than a frame, or with a longer topic than a gateway's
        self._reader = None  # the task recv_into waits in, while it waits for the socket
        self._kicked = False
        self._rx_ms = self._ping_ms = 0
        self._closed = False
        # The packet reader: the read buffer and what of it is unread, the
        # topic of the frame read last, and where in a packet it is.
        self._rb = bytearray(_RBUF)
        self._rp = self._re = 0
        self._tb = bytearray(self._from_u + ID_MAX)
        self._tl = 0  # the length of the topic in _tb
        self._st = _HEAD
        self._op = self._rem = self._k = self._tn = self._plen = 0
        self._subscribed = False

    # ---- connection ----------------------------------------------------
    async def run(self):
        """Keep the connection up until close().  recv_into() must be
        awaited meanwhile: it also reads the broker's answers to pings, and
        silence for keepalive_s means a dead connection."""
        backoff = _BACKOFF_MIN_MS
        failing = False
        while not self._closed:
            err = self._connect()
            if err is None:
                failing = False
                up = ticks_ms()
                while self.sock is not None:
                    await asyncio.sleep_ms(_STEP_MS)
                    now = ticks_ms()
                    if ticks_diff(now, self._rx_ms) > self.keepalive_ms:
                        self._drop("no answer to pings")
                    elif self.sock is not None and \
                            ticks_diff(now, self._ping_ms) >= self.keepalive_ms // 2:
                        self._ping_ms = now
                        try:
                            self.client.ping()
                        except OSError as e:
                            self._drop(e)
                if ticks_diff(ticks_ms(), up) >= self.keepalive_ms:
                    backoff = _BACKOFF_MIN_MS  # it had worked: retry soon
            elif not failing:  # logged once per outage, not per attempt
                failing = True
                self.log("%s: cannot connect (%r); retrying with backoff" % (self.where, err))
            if self._closed:
                return
            await asyncio.sleep_ms(backoff)
            backoff = min(2 * backoff, _BACKOFF_MAX_MS)

    def _connect(self):
        """One connect attempt, subscriptions included; the error, or None."""
        c = self.client
        try:
            c.connect(timeout=_TIMEOUT_S)
            self._rp = self._re = 0  # a new stream: nothing of the old one is read on
            self._st = _HEAD
            self._subscribed = False
            c.sock.write(self._subscribe)
            self._wait_suback(c.sock)
        except _BROKEN as e:
            if c.sock:
                c.sock.close()
            return e
        self.sock = c.sock
        self.connects += 1
        self._rx_ms = self._ping_ms = ticks_ms()
        self.up.set()
        self.log("%s: connected (%d)" % (self.where, self.connects))
        return None

    def _wait_suback(self, sock):
        """Read until the SUBACK, for at most _TIMEOUT_MS; messages before
        it are dropped (at QoS 0 a subscription may lose them anyway)."""
        poller = select.poll()
        poller.register(sock, select.POLLIN)
        t0 = ticks_ms()
        sock.settimeout(0)
        try:
            while not self._subscribed:
                if self._parse(_NOWHERE) != _MORE:
                    continue
                left = _TIMEOUT_MS - ticks_diff(ticks_ms(), t0)
                if left <= 0 or not poller.poll(left):
                    raise OSError(110)  # ETIMEDOUT
                self._fill(sock)
        finally:
            poller.unregister(sock)
            sock.settimeout(_TIMEOUT_S)

    def _drop(self, why):
        """The connection is unusable: close it; run() reconnects."""
        if self.sock is None:
            return
        self.sock = None
        self.up.clear()
        self.disconnects += 1
        if self._reader is not None:
            # recv_into waits on the old socket; closing it does not wake
            # every port's poller, so wake that task (it goes on waiting).
            self._kicked = True
            self._reader.cancel()
        self.client.sock.close()
        self.log("%s: connection lost (%s)" % (self.where, why))

    def close(self):
        self._closed = True
        if self.sock is not None:
            self.sock = None
            try:
                self.client.disconnect()
            except OSError:
                pass

    # ---- receiving -----------------------------------------------------
    async def recv_into(self, buf):
        """Wait for one frame (while disconnected, for the connection),
        copy it into buf; returns its length (more than len(buf) marks an
        oversized one, of which what fits is copied).

        With the read buffer used up it waits for the socket first, as any
        stream read does: so the loop gets its turn at least once per
        _RBUF bytes, however fast frames arrive.  The transport allocates
        nothing for a frame; what remains is the caller's coroutine object
        of this call, and the wait's: compat.readable's generator and what
        asyncio's I/O queue and poller allocate to watch the socket."""
        busy = False  # in a long message, with more of it in the socket
        while True:
            sock = self.sock
            if sock is None:
                await self.up.wait()
                continue
            if not busy and self._rp == self._re:
                self._reader = asyncio.current_task()
                try:
                    await readable(sock)  # pyright: ignore[reportGeneralTypeIssues]
                except asyncio.CancelledError:
                    if not self._kicked:
                        raise
                    self._kicked = False
                    continue
                finally:
                    self._reader = None
                if sock is not self.sock:
                    continue
            try:
                n = self._read(sock, buf)
            except _BROKEN as e:
                self._drop(e)
                busy = False
                continue
            if n >= 0:
                return n
            busy = n == _BUSY  # else the socket had nothing more
            if busy:
                await asyncio.sleep_ms(0)  # the other tasks' turn

    def _read(self, sock, into):
        """Packets from the read buffer, refilled from sock without
        blocking, until a frame is in into (its length), the socket has
        nothing more (_MORE) or _BURST bytes were read (_BUSY)."""
        budget = _BURST
        sock.settimeout(0)
        try:
            while True:
                n = self._parse(into)
                if n >= 0:
                    return n
                if n == _MORE:
                    if budget <= 0:
                        return _BUSY
                    if not self._fill(sock):
                        return _MORE
                    budget -= self._re
        finally:
            sock.settimeout(_TIMEOUT_S)

    def _fill(self, sock):
        """Read what sock has, up to _RBUF bytes, into the read buffer (all
        of it used); False if it had nothing."""
        n = sock.readinto(self._rb)
        if n is None:
            return False
        if not n:
            raise MQTTException("closed by the broker")
        self._rp, self._re = 0, n
        self._rx_ms = ticks_ms()  # the broker is there
        return True

    def _parse(self, into):
        """Go on with the packet being read, on the read buffer's unread
        bytes: a PUBLISH that completes gives its payload's length (what
        fits copied into into); _DONE, any other packet that completes;
        _MORE, a read buffer used up.  A stream that is no MQTT raises."""
        rb, p, e = self._rb, self._rp, self._re
        st, rem, k = self._st, self._rem, self._k
        r = _MORE
        while True:
            if st == _HEAD:
                if p == e:
                    break
                op = rb[p]
                p += 1
                if not (_SERVER_TYPES >> (op >> 4)) & 1:
                    raise MQTTException("packet type %d" % (op >> 4))
                self._op = op
                st, rem, k = _LEN, 0, 0
            elif st == _LEN:
                if p == e:
                    break
                b = rb[p]
                p += 1
                rem |= (b & 127) << (7 * k)
                k += 1
                if b & 128:
                    if k == 4:
                        raise MQTTException("remaining length")
                    continue
                k = 0
                if self._op >> 4 != 3:
                    st = _SKIP
                elif self._op & 6 == 6 or rem < 2:
                    raise MQTTException("PUBLISH header")
                else:
                    st = _TLEN
            elif st == _TLEN:
                if p == e:
                    break
                self._tn = (self._tn << 8 if k else 0) | rb[p]
                p += 1
                rem -= 1
                k += 1
                if k == 2:
                    k = 0
                    if self._tn + (2 if self._op & 6 else 0) > rem:
                        raise MQTTException("topic length")
                    if self._tn > len(self._tb):  # no gateway's topic
                        self.oversized += 1
                        st = _SKIP
                    else:
                        st = _TOPIC
            elif st == _TOPIC:
                n = min(e - p, self._tn - k)
                raw.copy(self._tb, k, rb, p, n)
                p += n
                rem -= n
                k += n
                if k < self._tn:
                    break
                k = 0
                st = _PID
            elif st == _PID:
                if self._op & 6 and k < 2:
                    if p == e:
                        break
                    p += 1
                    rem -= 1
                    k += 1
                    continue
                k = 0
                self._tl = self._tn
                self._plen = rem
                st = _PAY
            elif st == _PAY:
                n = min(e - p, rem)
                c = min(n, len(into) - k)
                if c > 0:
                    raw.copy(into, k, rb, p, c)
                    k += c
                p += n
                rem -= n
                if rem:
                    break
                st = _HEAD
                r = self._plen
                if r > FRAME_MAX:
                    self.oversized += 1
                break
            else:  # _SKIP
                n = min(e - p, rem)
                if self._op == _SUBACK:
                    for i in range(n):  # return codes follow the packet id
                        if k + i >= 2 and rb[p + i] == 0x80:
                            raise MQTTException("subscription refused")
                p += n
                rem -= n
                k += n
                if rem:
                    break
                if self._op == _SUBACK:
                    self._subscribed = True
                st = _HEAD
                r = _DONE
                break
        self._rp = p  # one by one: assigning four at once would build a tuple
        self._st = st
        self._rem = rem
        self._k = k
        return r

    def sender(self, into):
        """The name of the gateway that sent the frame read last (a known
        peer's own bytes object: no allocation); into is not needed."""
        t, tl = self._tb, self._tl
        off = self._from_b if t[self._from_b - 2] == 98 else self._from_u  # 98: "b"
        n = tl - off
        peers = self.peers.addrs
        for i in range(len(peers)):  # an index loop: no iterator object per frame
            p = peers[i]
            if len(p) == n and raw.equal(p, 0, t, off, n):
                return p
        return bytes(t[off:tl])

    def heard(self, addr, tag, sure=True):
        """Note a gateway whose frame was fresh and authentic, as the most
        recently heard peer (the least recently heard one makes room)."""
        self.peers.heard(addr, tag, sure)

    def _unicast_topic(self, name):
        return self._u + name + b"/" + self.name

    # ---- sending -------------------------------------------------------
    def _publish(self, topic, buf, n):
        if self.sock is None:
            self.send_errors += 1
            return False
        try:
            self.client.publish(topic, memoryview(buf)[:n])
        except OSError as e:
            self.send_errors += 1
            self._drop(e)
            return False
        self.sent += 1
        return True

    def send(self, addr, buf, n):
        i = self.peers.find(addr)
        return self._publish(self.peers.extra[i] if i >= 0 else self._unicast_topic(addr), buf, n)

    def broadcast(self, buf, n):
        return self._publish(self._bcast, buf, n)

    def peer_count(self):
        return len(self.peers.addrs)

    def send_to_peer(self, i, buf, n):
        ok = self._publish(self.peers.extra[i], buf, n)
        self.peers.pinged(i)
        return ok

    def peer_tag(self, i):
        return self.peers.tags[i]

    def status(self, buf, n):
        return self._publish(self._status, buf, n)

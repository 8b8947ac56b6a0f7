"""MQTT transport for gateway boards: joins a radio cluster to other sites
through a broker, which carries the fleet's authenticated frames unchanged
and is no member.  MicroPython only, with micropython-lib's umqtt.simple
(``mpremote mip install umqtt.simple``).

Topics (P: config ``mqtt.prefix``, "ccrdt/<fleet>" by default), QoS 0, not
retained, client id "ccrdt-<name>":

    P/b/<name>       frames gateway <name> broadcasts; every gateway
                     subscribes P/b/+ and drops its own
    P/u/<to>/<from>  a frame for gateway <to> from <from>; <to> subscribes
                     P/u/<to>/+
    P/s/<name>       STATUS frames of node <name>

``run()`` keeps the connection: it connects, subscribes, pings, and while
the broker or the network is away retries with exponential backoff
(0.5 s doubling to 30 s).  umqtt's connect and subscribe block: an attempt
holds the loop for at most a few short socket timeouts (and a name
lookup).  Frames sent while disconnected are dropped and counted in
``send_errors``: anti-entropy repairs what they carried.
"""
import asyncio

from micropython import const
from umqtt.simple import MQTTClient, MQTTException

from ccrdt import raw
from ccrdt.compat import readable, ticks_diff, ticks_ms
from ccrdt.transport import Peers

_TIMEOUT_S = const(2)  # a socket operation waits at most this long
_BACKOFF_MIN_MS = const(500)
_BACKOFF_MAX_MS = const(30000)
_STEP_MS = const(250)  # how often run() looks at the connection
_MAX_PEERS = const(8)
# What umqtt raises on a refused, cut or garbled connection: a stream cut
# short gives short reads, which it indexes.
_BROKEN = (OSError, IndexError, AssertionError, MQTTException)


class _Timed:
    """The client's socket, keeping a short timeout: umqtt's wait_msg()
    calls setblocking(True) after a message's first byte, and a broker that
    stalled mid-message would then block the loop for good."""

    def __init__(self, sock):
        self.sock = sock

    def read(self, n):
        return self.sock.read(n)

    def write(self, buf, n=None):
        return self.sock.write(buf) if n is None else self.sock.write(buf, n)

    def setblocking(self, flag):
        self.sock.settimeout(_TIMEOUT_S if flag else 0)

    def close(self):
        self.sock.close()


class MqttTransport:
    kind = "mqtt"
    broadcasts = True

    def __init__(self, name, host, port=1883, prefix="ccrdt/1", user=None, password=None,
                 log=print, keepalive_s=30):
        self.name = name.encode()
        p = prefix.encode()
        self._u = p + b"/u/"  # + <to> + b"/" + own name: a unicast topic
        self._bcast = p + b"/b/" + self.name
        self._status = p + b"/s/" + self.name
        self._subs = (p + b"/b/+", self._u + self.name + b"/+")
        # Where the sender's name starts in a received topic.
        self._from_b = len(p) + 3
        self._from_u = len(self._u) + len(self.name) + 1
        self.where = "mqtt %s:%d" % (host, port)
        self.log = log
        self.keepalive_ms = keepalive_s * 1000
        c = MQTTClient("ccrdt-" + name, host, port, user, password or "", keepalive_s)
        c.set_callback(self._on_msg)
        self.client = c
        self.sock = None  # the connected socket; None while disconnected
        self.up = asyncio.Event()
        # The gateways heard (names), least recently heard first, with the
        # unicast topic of each.
        self.peers = Peers((), _MAX_PEERS, bytes, self._unicast_topic)
        self.sent = self.send_errors = self.connects = self.disconnects = 0
        self._into = None  # recv_into's buffer while it reads a message
        self._n = -1
        self._topic = b""  # topic of the frame recv_into read last
        self._reader = None  # the task recv_into waits in, while it waits for the socket
        self._kicked = False
        self._rx_ms = self._ping_ms = 0
        self._closed = False

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
            c.sock = _Timed(c.sock)
            for topic in self._subs:
                c.subscribe(topic)
        except _BROKEN as e:
            if c.sock:
                c.sock.close()
            return e
        self.sock = c.sock.sock
        self.connects += 1
        self._rx_ms = self._ping_ms = ticks_ms()
        self.up.set()
        self.log("%s: connected (%d)" % (self.where, self.connects))
        return None

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
        oversized one, of which what fits is copied)."""
        while True:
            sock = self.sock
            if sock is None:
                await self.up.wait()
                continue
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
            self._into = buf
            self._n = -1
            try:
                self.client.check_msg()  # one message: a frame, or an answer to a ping
            except _BROKEN as e:
                self._drop(e)
                continue
            finally:
                self._into = None
            self._rx_ms = ticks_ms()
            if self._n >= 0:
                return self._n

    def _on_msg(self, topic, msg):
        into = self._into
        if into is None or topic == self._bcast:  # during subscribe(), or our own echo
            return
        n = len(msg)
        raw.copy(into, 0, msg, 0, min(n, len(into)))
        self._n = n
        self._topic = topic

    def sender(self, into):
        """The name of the gateway that sent the frame read last (a known
        peer's own bytes object: no allocation); into is not needed."""
        t = self._topic
        off = self._from_b if t[self._from_b - 2] == 98 else self._from_u  # 98: "b"
        n = len(t) - off
        peers = self.peers.addrs
        for i in range(len(peers)):  # an index loop: no iterator object per frame
            p = peers[i]
            if len(p) == n and raw.equal(p, 0, t, off, n):
                return p
        return t[off:]

    def heard(self, addr, tag):
        """Note a gateway whose frame was fresh and authentic, as the most
        recently heard peer (the least recently heard one makes room)."""
        self.peers.heard(addr, tag)

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
        return self._publish(self.peers.extra[i], buf, n)

    def peer_tag(self, i):
        return self.peers.tags[i]

    def status(self, buf, n):
        return self._publish(self._status, buf, n)

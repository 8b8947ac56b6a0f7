"""ESP-NOW transport, with MicroPython's espnow / aioespnow on the ESP32.

* The WLAN station interface must be active.  ESP-NOW shares the radio's
  channel: when the station is connected to an access point the channel is
  the AP's and cannot be set, so every board must then use that channel.
* Broadcast to ff:ff:ff:ff:ff:ff (registered as a peer, as the API asks)
  carries a board's own changes to every board in range in one frame.
* Unicast needs registered peers, at most 20 (broadcast included): peers are
  registered as they are heard (fresh frames only, one MAC per sender tag:
  ``ccrdt.transport.Peers``), and the least recently heard one makes room.
* Frames are read with airecv(), which reuses its buffers (no allocation),
  and copied into the receive queue with the sender's MAC.
"""
from micropython import const

from ccrdt import raw
from ccrdt.transport import Peers

BROADCAST = b"\xff\xff\xff\xff\xff\xff"
_MAX_PEERS = const(20)  # ESP-NOW's limit, the broadcast address included
_NOT_FOUND = "ESP_ERR_ESPNOW_NOT_FOUND"


class EspNowTransport:
    kind = "espnow"
    broadcasts = receives = True

    def __init__(self, channel, peers=(), log=print):
        import aioespnow
        import network
        self.log = log
        sta = network.WLAN(network.STA_IF)
        sta.active(True)
        if sta.isconnected():
            log("ESP-NOW on the access point's channel %d (config says %d)"
                % (sta.config("channel"), channel))
        else:
            sta.config(channel=channel)
        self.mac = sta.config("mac")
        e = aioespnow.AIOESPNow()
        e.active(True)
        e.add_peer(BROADCAST)
        self.e = e
        # Unicast peers, least recently heard first (the configured ones
        # too: ESP-NOW's peer table is small); a MAC is copied once kept.
        self.peers = Peers((), _MAX_PEERS - 1, bytes)
        for text in peers:
            self._register(bytes(int(x, 16) for x in text.split(":")), -1)
        self.last_mac = None
        self.sent = self.send_errors = 0

    def close(self):
        self.e.active(False)

    def _forget(self, mac):
        """Unregister mac (a peer dropped), if any: the radio holds 20."""
        if mac is not None:
            try:
                self.e.del_peer(mac)
            except OSError:
                pass

    def _register(self, mac, tag, sure=True):
        """Make mac the peer of tag, unregistering the one it replaced."""
        if not self.peers.heard(mac, tag, sure):
            return
        self._forget(self.peers.evicted)
        try:
            self.e.add_peer(self.peers.addrs[-1])
        except OSError as err:
            if "EXIST" not in str(err):
                raise

    async def recv_into(self, buf):
        """Wait for one message, copy it into buf; returns its length."""
        mac, msg = await self.e.airecv()
        n = len(msg)
        raw.copy(buf, 0, msg, 0, min(n, len(buf)))
        self.last_mac = mac  # airecv()'s own buffer, valid until the next message
        return n

    def sender(self, into):
        """The last message's MAC, copied into the receive slot's buffer:
        airecv() reuses its own."""
        raw.copy(into, 0, self.last_mac, 0, 6)
        return into

    def send(self, mac, buf, n):
        try:
            self.e.send(mac, memoryview(buf)[:n], False)
            self.sent += 1
            return True
        except OSError as err:
            if _NOT_FOUND in str(err) and mac != BROADCAST:
                # An answer to a board that is no peer (yet): the radio
                # needs it registered to send, the peers learn nothing (what
                # asked may be a recording played from this MAC).
                try:
                    self.e.add_peer(mac)
                    self.e.send(mac, memoryview(buf)[:n], False)
                    self.sent += 1
                    return True
                except OSError:
                    pass
                finally:
                    if self.peers.find(mac) < 0:
                        self._forget(mac)
            self.send_errors += 1
            return False

    def broadcast(self, buf, n):
        return self.send(BROADCAST, buf, n)

    def status(self, buf, n):
        return False  # the monitor listens on IP: see ccrdt.boot

    def peer_count(self):
        return len(self.peers.addrs)

    def send_to_peer(self, i, buf, n):
        ok = self.send(self.peers.addrs[i], buf, n)
        if self.peers.pinged(i):
            self._forget(self.peers.evicted)
        return ok

    def peer_tag(self, i):
        return self.peers.tags[i]

    def heard(self, mac, tag, sure=True):
        """Note a board heard from, so that anti-entropy can ping it
        (sure: see ``Peers.heard``)."""
        self._register(mac, tag, sure)

"""TEST STAND-IN for the MicroPython MQTT gateway (built in the firmware
elsewhere): a CPython GossipNode from firmware/ that speaks the gateway's
topic layout through a real broker with paho-mqtt, so the observer, the
Home Assistant bridge and fleet_state can be tested against real frames.

Under the prefix P: it broadcasts its own changes and a presence PING on
P/b/<name>, answers frames from P/u/<name>/<from> on P/u/<from>/<name>,
pings the gateways it hears, and sends a STATUS frame on P/s/<name> every
second.  Local operations go through ``with gw.lock: gw.node...``.
"""

import os
import sys
import threading
import time

sys.path.insert(
    0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tools")
)

from mqttclient import connect, default_prefix

from ccrdt import status, wire
from ccrdt.gossip import GossipNode


class StandInGateway:
    def __init__(self, name, key, host, port, fleet=1, tick=0.25):
        self.name, self.tick = name, tick
        self.prefix = default_prefix(fleet)
        self.node = GossipNode(name, key, fleet)
        self.lock = threading.Lock()
        self.peers = set()
        self._buf = bytearray(wire.FRAME_MAX)
        self._stop = threading.Event()
        self.client = connect(
            host, port, [self.prefix + "/b/+", "%s/u/%s/+" % (self.prefix, name)], self._message
        )
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _send(self, topic):
        return lambda buf, n: self.client.publish(topic, bytes(buf[:n]))

    def _message(self, topic, payload, retained):
        sender = topic.rsplit("/", 1)[1]
        if sender == self.name:
            return
        with self.lock:
            self.node.handle(
                payload, len(payload), self._send("%s/u/%s/%s" % (self.prefix, sender, self.name))
            )
            if topic.startswith(self.prefix + "/b/"):
                self.peers.add(sender)

    def _run(self):
        ticks = 0
        while not self._stop.wait(self.tick):
            with self.lock:
                self.node.broadcast(self._send("%s/b/%s" % (self.prefix, self.name)))
                if ticks % 4 == 0:
                    self._send("%s/b/%s" % (self.prefix, self.name))(
                        self._buf, self.node.presence_into(self._buf)
                    )
                    self._status()
                for p in self.peers:
                    self._send("%s/u/%s/%s" % (self.prefix, p, self.name))(
                        self._buf, self.node.ping_into(self._buf)
                    )
            ticks += 1

    def _status(self):
        st, node = self.node.state, self.node
        own = st.metrics.origin(st.tag)
        values = dict((k, 0) for k in status.FIELDS)
        values.update(
            hash=st.state_hash(),
            constraints=st.active_constraint_count(),
            nodes=len(st.nodes()),
            satisfied=st.metrics.total_satisfied(),
            violations=st.metrics.total_violations(),
            own_satisfied=own[0],
            own_violations=own[1],
            rx=node.rounds(),
            rejected=node.rejected(),
            max_nodes=st.max_nodes,
            max_constraints=st.max_constraints,
            uptime_ms=int(time.monotonic() * 1000) & 0xFFFFFFFF,
            rejected_by=[],
        )
        n = status.write(node.framer, self._buf, values, self.name.encode())
        self.client.publish("%s/s/%s" % (self.prefix, self.name), bytes(self._buf[:n]))

    def close(self):
        self._stop.set()
        self._thread.join()
        self.client.loop_stop()
        self.client.disconnect()

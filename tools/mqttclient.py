"""What the host tools share to reach a fleet through an MQTT broker: the
fleet's topic prefix, a broker's address from the command line, why a
broker is not reachable, and a paho client that subscribes again after
every reconnect.  The monitor, the observer (and through it fleet_state and
the Home Assistant bridge) and tools/fleet.py import it; it imports none of
them."""
import argparse
import os
import socket


def default_prefix(fleet):
    return "ccrdt/%d" % fleet


def broker_address(text):
    """'host:port' (or 'host', port 1883) as (host, port)."""
    host, _, port = text.rpartition(":")
    if not host:
        return text, 1883
    try:
        return host, int(port)
    except ValueError:
        raise argparse.ArgumentTypeError("broker %r: expected host:port" % text)


def broker_problem(host, port):
    """Why no MQTT connection to host:port is up, as a phrase: nothing
    listens there (a tools/fleet.py run stops its broker when the run ends),
    or something does but gave no MQTT answer."""
    try:
        socket.create_connection((host, port), timeout=1).close()
    except OSError as e:
        return "%s: nothing accepts connections there" % (e.strerror or e)
    return "it accepts TCP connections but did not answer the MQTT CONNECT"


def connect(host, port, subscriptions, on_message, will=None, on_connect=None, name=None,
            on_disconnect=None):
    """A paho client connected to host:port, its network loop in a thread,
    subscribing again after every reconnect; on_message(topic, payload,
    retained), on_connect() and on_disconnect(reason) run in that thread.
    will: (topic, payload) kept retained by the broker for when this client
    goes away.  name: part of its client id (which also holds the process
    id, so that two tools never share one and take each other's session)."""
    import paho.mqtt.client as mqtt  # here: a tool that only parses an address needs no paho
    cid = "ccrdt-tool-%s-%d" % (name, os.getpid()) if name else ""
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=cid)
    if will:
        c.will_set(will[0], will[1], qos=1, retain=True)

    def connected(client, userdata, flags, reason, properties):
        if not reason.is_failure:
            client.subscribe([(t, 0) for t in subscriptions])
            if on_connect:
                on_connect()
        elif on_disconnect:
            on_disconnect("refused: %s" % reason)

    def disconnected(client, userdata, flags, reason, properties):
        if on_disconnect:
            on_disconnect(str(reason))
    c.on_connect = connected
    c.on_disconnect = disconnected
    c.on_message = lambda client, userdata, msg: on_message(msg.topic, msg.payload, msg.retain)
    c.reconnect_delay_set(0.5, 5)
    c.connect_async(host, port, keepalive=30)  # a broker not up yet is retried
    c.loop_start()
    return c

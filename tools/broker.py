"""A real MQTT broker process on loopback, for the two-site demo and tests.

mosquitto where it is installed (Debian's package, `apt-get install
mosquitto`: the broker users run), else amqtt from the venv
(requirements.txt pins it).  MQTT_BROKER=amqtt|mosquitto chooses; the tests
run against both (the `broker` fixture of host_tests/conftest.py).

    with Broker() as b:
        ...  # connect to b.host, b.port
        b.stop(); b.start()  # an outage: the same port comes back

    External(host, port)  # one that runs on its own: stop() leaves it running

    python tools/broker.py [--port P] [--kind amqtt|mosquitto]
"""
import os
import shutil
import socket
import subprocess
import tempfile
import time

import hostenv

KINDS = ("mosquitto", "amqtt")


def program(kind):
    """The broker's executable, or None where it is not installed.  Debian
    puts mosquitto in /usr/sbin, which a user's PATH often lacks."""
    if kind == "mosquitto":
        return shutil.which("mosquitto") or shutil.which("mosquitto", path="/usr/sbin")
    path = hostenv.tool("amqtt")
    return path if os.path.exists(path) else None


def missing(kind):
    """Why a broker of this kind cannot run here (one line), or None."""
    if program(kind):
        return None
    if kind == "mosquitto":
        return "mosquitto is not installed (Debian: apt-get install mosquitto)"
    return "amqtt is not installed: run through make, which builds .venv"


def chosen_kind():
    kind = os.environ.get("MQTT_BROKER")
    if kind:
        if kind not in KINDS:
            raise ValueError("MQTT_BROKER=%s: use one of %s" % (kind, ", ".join(KINDS)))
        return kind
    return "mosquitto" if program("mosquitto") else "amqtt"


def free_tcp_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Broker:
    def __init__(self, port=None, kind=None, log_path=None):
        self.kind = kind or chosen_kind()
        self.host = "127.0.0.1"
        self.port = port or free_tcp_port()
        self.dir = tempfile.mkdtemp(prefix="ccrdt-broker-")
        self.log_path = log_path or os.path.join(self.dir, "broker.log")
        self.proc = None
        self.starts = 0

    def _command(self):
        conf = os.path.join(self.dir, "broker.conf")
        if self.kind == "mosquitto":
            with open(conf, "w") as f:
                f.write("listener %d %s\nallow_anonymous true\npersistence false\n"
                        % (self.port, self.host))
        else:
            with open(conf, "w") as f:
                f.write("listeners:\n  default:\n    type: tcp\n    bind: %s:%d\n"
                        "plugins:\n  amqtt.plugins.authentication.AnonymousAuthPlugin:\n"
                        "    allow_anonymous: true\n" % (self.host, self.port))
        why = missing(self.kind)
        if why:  # one line for the user (MQTT_BROKER=mosquitto where there is none)
            raise hostenv.Missing(why)
        return [program(self.kind), "-c", conf]

    def start(self, timeout=20.0):
        """Start the broker and wait until it accepts connections."""
        if self.proc is not None:
            return self
        log = open(self.log_path, "a")
        self.proc = subprocess.Popen(self._command(), stdout=log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        log.close()
        self.starts += 1
        t_end = time.monotonic() + timeout
        while time.monotonic() < t_end:
            if self.proc.poll() is not None:
                raise RuntimeError("%s exited at start (%s): see %s"
                                   % (self.kind, self.proc.returncode, self.log_path))
            try:
                socket.create_connection((self.host, self.port), timeout=0.5).close()
                return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("%s did not listen on %d within %.0f s"
                           % (self.kind, self.port, timeout))

    def stop(self):
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def restart(self):
        self.stop()
        return self.start()

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __str__(self):
        return "%s on %s:%d" % (self.kind, self.host, self.port)

    def started_line(self):
        """What a run that starts this broker tells its user."""
        other = [k for k in KINDS if k != self.kind][0]
        return ("MQTT broker: %s (%s) started on %s:%d; MQTT_BROKER=%s chooses %s"
                % (self.kind, program(self.kind), self.host, self.port, other, other))


class External:
    """A broker that runs on its own (``python tools/broker.py --port P``,
    or any MQTT broker) and outlives whoever uses it: start() only waits
    until it accepts connections and stop() leaves it running, so a virtual
    fleet given one (``Fleet(..., broker=External(host, port))``) does not
    take the host tools' broker away when its run ends."""

    kind = "external"
    starts = 0

    def __init__(self, host="127.0.0.1", port=1883):
        self.host, self.port = host, port

    def start(self, timeout=20.0):
        t_end = time.monotonic() + timeout
        while True:
            try:
                socket.create_connection((self.host, self.port), timeout=0.5).close()
                return self
            except OSError:
                if time.monotonic() >= t_end:
                    raise RuntimeError("no broker listens on %s:%d" % (self.host, self.port))
                time.sleep(0.1)

    def stop(self):
        pass

    def restart(self):
        return self.start()

    def running(self):
        try:
            socket.create_connection((self.host, self.port), timeout=0.5).close()
            return True
        except OSError:
            return False

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        pass

    def __str__(self):
        return "the broker on %s:%d" % (self.host, self.port)

    def started_line(self):
        return "MQTT broker: the one running on %s:%d (--broker)" % (self.host, self.port)


def main(argv=None):
    import argparse
    ap = argparse.ArgumentParser(description="Run a local MQTT broker for a virtual fleet.")
    ap.add_argument("--port", type=int, default=1883)
    ap.add_argument("--kind", choices=KINDS)
    a = ap.parse_args(argv)
    with Broker(a.port, a.kind) as b:
        print("MQTT broker: %s (Ctrl-C stops it)" % b, flush=True)
        try:
            b.proc.wait()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()

"""The fleet's state as JSON, for scripts: one observer run through the broker.

    python tools/fleet_state.py --broker host:port --key build/fleet.key [--fleet 1] [--wait 10]

Joins the fleet as an observer (``tools/observer.py``; named "fleet-state"
on the topics, ``--name`` to change it), pings the gateways it hears and
prints, once the fleet is converged (see observer.py; with --stable S: has
been converged on one state for S seconds, which a fleet still changing is
only for moments) or --wait seconds have passed, one JSON object:

    {"fleet": 1, "hash": "0a1b2c3d", "converged": true,
     "constraints": ["door", "temp<40"], "satisfied": 15, "violations": 3, "rate": 0.833,
     "boards": {"gw-a": {"satisfied": 10, "violations": 2, "last_seen": "2026-11-25T10:00:00Z"}},
     "gateways": {...}, "status": {...}, "rejected": 0, ...}

Exit status: 0 with the state once some gateway has reported the state the
observer holds ("converged" may still be false after --wait in a busy
fleet); 1 with a message on stderr when no gateway was heard, or none
completed an exchange, within --wait; "no connection to the broker" says why
(nothing listening there: a broker started by tools/fleet.py stops when
that run ends, about a second after its fleet converged).
"""
import argparse
import json
import signal
import sys
import time

from observer import Link, add_arguments, observer_from


def fetch(link, wait, stable=0.0):
    """Ping and listen until the fleet has been converged on one state hash
    for stable seconds (0: once converged) or wait seconds passed; returns
    the report, or None if no exchange completed."""
    end = time.monotonic() + wait
    agreed = None  # (hash, since when the fleet is converged on it)
    while True:
        link.ping()
        tick = time.monotonic() + 1
        while time.monotonic() < min(tick, end):
            time.sleep(0.05)
            with link.lock:
                obs = link.observer
                if not obs.converged():
                    agreed = None
                    continue
                now, h = time.monotonic(), obs.node.state_hash()
                if agreed is None or agreed[0] != h:
                    agreed = (h, now)
                if now - agreed[1] >= stable:
                    return obs.report()
        if time.monotonic() >= end:
            with link.lock:
                return link.observer.report() if link.observer.synced else None


def main(argv=None):
    ap = argparse.ArgumentParser(
        description="Print a ccrdt fleet's state as JSON, read through an MQTT broker.")
    add_arguments(ap, "fleet-state")
    ap.add_argument("--wait", type=float, default=10.0,
                    help="seconds to wait at most (default %(default)s)")
    ap.add_argument("--stable", type=float, default=0.0,
                    help="print once the fleet has been converged on one state for this many"
                    " seconds (default %(default)s: as soon as it is converged)")
    a = ap.parse_args(argv)
    obs = observer_from(a, "fleet_state")
    host, port = a.broker
    link = Link(obs, host, port)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # the finally below runs
    try:
        report = fetch(link, a.wait, a.stable)
        if report is None:
            heard = ", ".join(sorted(obs.gateways))
            problem = link.problem()
            what = ("no gateway completed an exchange (heard: %s)" % heard if heard
                    else "no gateway heard" if problem is None
                    else "no connection to the broker")
            print("fleet_state: %s on %s:%d under %s/ within %.0f s%s"
                  % (what, host, port, obs.prefix, a.wait, " (%s)" % problem if problem else ""),
                  file=sys.stderr)
            return 1
    finally:
        link.close()
        obs.status.save()
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

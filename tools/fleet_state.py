"""The fleet's state as JSON, for scripts: one observer run through the broker.

    python tools/fleet_state.py --broker host:port --key build/fleet.key [--fleet 1] [--wait 10]

Joins the fleet as an observer (``tools/observer.py``; named "fleet-state"
on the topics, ``--name`` to change it), pings the gateways it hears and
prints, once the fleet is converged (see observer.py) or --wait seconds have
passed, one JSON object:

    {"fleet": 1, "hash": "0a1b2c3d", "converged": true,
     "constraints": ["door", "temp<40"], "satisfied": 15, "violations": 3, "rate": 0.833,
     "boards": {"gw-a": {"satisfied": 10, "violations": 2, "last_seen": "2026-11-25T10:00:00Z"}},
     "gateways": {...}, "status": {...}, "rejected": 0, ...}

Exit status: 0 with the state once some gateway has reported the state the
observer holds ("converged" may still be false after --wait in a busy
fleet); 1 with a message on stderr when no gateway was heard, or none
completed an exchange, within --wait.
"""
import argparse
import json
import sys
import time

from observer import Link, add_arguments, observer_from


def fetch(link, wait):
    """Ping and listen until the fleet converged or wait seconds passed;
    returns the report, or None if no exchange completed."""
    end = time.monotonic() + wait
    while True:
        link.ping()
        tick = time.monotonic() + 1
        while time.monotonic() < min(tick, end):
            time.sleep(0.05)
            with link.lock:
                if link.observer.converged():
                    return link.observer.report()
        if time.monotonic() >= end:
            with link.lock:
                return link.observer.report() if link.observer.synced else None


def main(argv=None):
    ap = argparse.ArgumentParser(
        description="Print a ccrdt fleet's state as JSON, read through an MQTT broker.")
    add_arguments(ap, "fleet-state")
    ap.add_argument("--wait", type=float, default=10.0,
                    help="seconds to wait at most (default %(default)s)")
    a = ap.parse_args(argv)
    obs = observer_from(a)
    host, port = a.broker
    link = Link(obs, host, port)
    try:
        report = fetch(link, a.wait)
        if report is None:
            heard = ", ".join(sorted(obs.gateways))
            what = ("no gateway completed an exchange (heard: %s)" % heard if heard
                    else "no gateway heard" if link.client.is_connected()
                    else "no connection to the broker")
            print("fleet_state: %s on %s:%d under %s/ within %.0f s"
                  % (what, host, port, obs.prefix, a.wait), file=sys.stderr)
            return 1
    finally:
        link.close()
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

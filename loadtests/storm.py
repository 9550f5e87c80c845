"""The reconnect storm's bookkeeping for loadtests/locustfile.py's ReconnectStorm: when the
storms happen, how many clients each dropped, and how the proxy spread their reconnections.

Storms fall on wall-clock multiples of LOCUST_STORM_EVERY seconds, so every Locust process of a
run (`--processes N`) drops its clients at the same instant without talking to the others. Each
process counts its dropped clients per storm and sends the count to the master (a Locust custom
message). The master (or local runner) reads the proxy's
stats (HAProxy's CSV, LOCUST_PROXY_STATS) just before each storm and LOCUST_STORM_DEADLINE + 1 s
after it: the sessions each ws server took in between are the storm's spread. At the end the
storms are logged and written to `<--csv prefix>_storms.json`.
"""
from __future__ import annotations

import csv
import io
import json
import logging
import math
import os
import time
import urllib.request

import gevent
from locust import events
from locust.runners import WorkerRunner

from config.env import env_float
from loadtests.thresholds import STORMS

log = logging.getLogger(__name__)

EVERY = env_float("LOCUST_STORM_EVERY", 20.0)        # seconds between storms
DEADLINE = env_float("LOCUST_STORM_DEADLINE", 10.0)  # every dropped client back and synced within this
PROXY_STATS = os.environ.get("LOCUST_PROXY_STATS", "")  # e.g. http://127.0.0.1:8081/;csv
PROXY_BACKEND = os.environ.get("LOCUST_PROXY_BACKEND", "ws")
MESSAGE = "chat_storm_dropped"

_dropped: dict[int, int] = {}  # this process: storm number -> clients it dropped


def next_storm(now: float | None = None) -> tuple[int, float]:
    """(number, wall-clock time) of the next storm strictly after `now`."""
    now = time.time() if now is None else now
    number = math.floor(now / EVERY) + 1
    return number, number * EVERY


def note_drop(environment, number: int) -> None:
    """One client of this process dropped in storm `number`; the first one schedules the count's
    delivery a second later, when every client of the process has dropped."""
    first = number not in _dropped
    _dropped[number] = _dropped.get(number, 0) + 1
    if first:
        gevent.spawn_later(1.0, _send_count, environment, number)


def _send_count(environment, number: int) -> None:
    # To the master; the local runner hands it to its own listener.
    environment.runner.send_message(MESSAGE, {"storm": number, "dropped": _dropped.get(number, 0)})


def _receive(environment, msg, **_kwargs) -> None:
    storm = STORMS.setdefault(int(msg.data["storm"]), _new(int(msg.data["storm"])))
    storm["dropped"] += int(msg.data["dropped"])


def _new(number: int) -> dict:
    return {"at": time.strftime("%H:%M:%S UTC", time.gmtime(number * EVERY)), "dropped": 0}


# --- the proxy's view ------------------------------------------------------------------------

def proxy_sessions(url: str = PROXY_STATS, backend: str = PROXY_BACKEND) -> dict[str, dict[str, int]]:
    """ws server -> {"total": sessions so far, "current": open now} from HAProxy's stats CSV."""
    with urllib.request.urlopen(url, timeout=3) as resp:  # noqa: S310 - an operator-given http URL
        text = resp.read().decode().lstrip("# ")
    servers = {}
    for row in csv.DictReader(io.StringIO(text)):
        if row.get("pxname") == backend and row.get("svname") not in ("FRONTEND", "BACKEND"):
            servers[row["svname"]] = {"total": int(row.get("stot") or 0), "current": int(row.get("scur") or 0)}
    return servers


def watch_proxy(environment) -> None:
    """Before and after every storm: the sessions each ws server took (the spread)."""
    while True:
        number, at = next_storm()
        gevent.sleep(max(0.0, at - 0.5 - time.time()))
        try:
            before = proxy_sessions()
            gevent.sleep(max(0.0, at + DEADLINE + 1.0 - time.time()))
            after = proxy_sessions()
        except OSError as exc:
            log.warning("proxy stats unreadable (%s): no spread for storm %s", exc, number)
            gevent.sleep(1.0)
            continue
        storm = STORMS.setdefault(number, _new(number))
        storm["reconnects_per_server"] = {name: after[name]["total"] - before.get(name, {"total": 0})["total"]
                                          for name in after}
        storm["open_after_per_server"] = {name: after[name]["current"] for name in after}


# --- wiring ----------------------------------------------------------------------------------

@events.init.add_listener
def _register(environment, **_kwargs) -> None:
    if environment.runner is not None and not isinstance(environment.runner, WorkerRunner):
        environment.runner.register_message(MESSAGE, _receive)


@events.test_start.add_listener
def _start_watch(environment, **_kwargs) -> None:
    storming = any(user_class.__name__ == "ReconnectStorm" for user_class in environment.user_classes)
    if PROXY_STATS and storming and not isinstance(environment.runner, WorkerRunner):
        gevent.spawn(watch_proxy, environment)


@events.quitting.add_listener
def _write_report(environment, **_kwargs) -> None:
    if isinstance(environment.runner, WorkerRunner) or not STORMS:
        return
    for number, storm in sorted(STORMS.items()):
        log.info("storm at %s: %s clients dropped; reconnections per ws server %s, open after %s", storm["at"],
                 storm["dropped"], storm.get("reconnects_per_server", "?"), storm.get("open_after_per_server", "?"))
    prefix = getattr(environment.parsed_options, "csv_prefix", None)
    if prefix:
        with open(f"{prefix}_storms.json", "w") as out:
            json.dump({"every_s": EVERY, "deadline_s": DEADLINE,
                       "storms": {str(k): v for k, v in sorted(STORMS.items())}}, out, indent=1)

"""Budget thresholds as a Locust run's exit code: 1 when one is missed, 0 when all are met.

Imported by loadtests/locustfile.py, so every run of the scenarios is judged (the listener is
registered once, however many locustfiles import this module). The defaults are DESIGN.md
section 10's budgets for what the scenarios measure; each applies only to a statistic the run
produced (a HistoryReader run is not failed for having no deliveries). Environment:

  LOCUST_MAX_FAIL_RATIO   failed samples / all samples (default 0.01)
  LOCUST_ZERO_FAILURES    names that must have no failure, ';'-separated
                          (default "seq gap;seq duplicate;storm: drop -> synced")
  LOCUST_BUDGETS          'name:percentile:milliseconds;...' applied when the name has samples
                          (default: DEFAULT_BUDGETS below; "" turns them off)
  LOCUST_THRESHOLDS       the same form, but the name must have samples (k8s/locust-job.yaml)
  LOCUST_STORM_CLIENTS    the largest reconnect storm must have dropped at least this many clients
                          (default 0: not checked)
"""
from __future__ import annotations

import logging
import os

from locust import events
from locust.runners import WorkerRunner

log = logging.getLogger(__name__)

# DESIGN section 10: send -> message_confirmed p99 <= 30 ms, send -> message_new p99 <= 50 ms
# (quiet box), a storm's clients all back and synced within 10 s (issue 10).
DEFAULT_BUDGETS = ("message_send -> confirmed:99:30;message_new (send -> delivered):99:50;"
                   "storm: drop -> synced:100:10000")
DEFAULT_ZERO_FAILURES = "seq gap;seq duplicate;storm: drop -> synced"

# Filled by the storm coordinator in the locustfile: (storm number, clients dropped) per storm.
STORMS: dict[int, dict] = {}


def parse_thresholds(raw: str) -> list[tuple[str, float, float]]:
    """'name:99:500;other:95:200' -> [(name, 0.99, 500.0), ...]; a name may itself contain ':'."""
    thresholds = []
    for item in filter(None, (part.strip() for part in raw.split(";"))):
        name, percentile, millis = item.rsplit(":", 2)
        thresholds.append((name.strip(), float(percentile) / 100, float(millis)))
    return thresholds


def _names(raw: str) -> list[str]:
    return [name.strip() for name in raw.split(";") if name.strip()]


def _entries(stats, name: str) -> list:
    return [entry for (entry_name, _method), entry in stats.entries.items()
            if entry_name == name and entry.num_requests]


def _over(entries: list, name: str, percentile: float, millis: float) -> list[str]:
    missed = []
    for entry in entries:
        value = entry.max_response_time if percentile >= 1 else entry.get_response_time_percentile(percentile)
        if value > millis:
            missed.append(f"{name}: p{percentile * 100:g} {value:.0f} ms > {millis:g} ms")
    return missed


def misses(stats, max_fail_ratio: float, zero_failures: list[str], budgets: list[tuple[str, float, float]],
           required: list[tuple[str, float, float]], storm_clients: int = 0,
           storms: dict[int, dict] | None = None) -> list[str]:
    """Every threshold the run missed, in words (empty: the run passed)."""
    missed = []
    if stats.total.num_requests == 0:
        missed.append("no requests at all")
    elif stats.total.fail_ratio > max_fail_ratio:
        missed.append(f"failure ratio {stats.total.fail_ratio:.4f} > {max_fail_ratio}")
    for name in zero_failures:
        failures = sum(entry.num_failures for entry in _entries(stats, name))
        if failures:
            missed.append(f"{name}: {failures} failures, none allowed")
    for name, percentile, millis in budgets:
        missed += _over(_entries(stats, name), name, percentile, millis)
    for name, percentile, millis in required:
        entries = _entries(stats, name)
        missed += _over(entries, name, percentile, millis) if entries else [f"{name}: no samples"]
    if storm_clients:
        largest = max((storm["dropped"] for storm in (storms or {}).values()), default=0)
        if largest < storm_clients:
            missed.append(f"largest reconnect storm dropped {largest} clients < {storm_clients}")
    return missed


def from_env(stats, storms: dict[int, dict] | None = None) -> list[str]:
    return misses(
        stats,
        float(os.environ.get("LOCUST_MAX_FAIL_RATIO", "0.01")),
        _names(os.environ.get("LOCUST_ZERO_FAILURES", DEFAULT_ZERO_FAILURES)),
        parse_thresholds(os.environ.get("LOCUST_BUDGETS", DEFAULT_BUDGETS)),
        parse_thresholds(os.environ.get("LOCUST_THRESHOLDS", "")),
        int(os.environ.get("LOCUST_STORM_CLIENTS", "0") or 0),
        storms,
    )


@events.quitting.add_listener
def enforce(environment, **_kwargs) -> None:
    if isinstance(environment.runner, WorkerRunner):
        return  # the master (or the local runner) holds the whole run's statistics
    missed = from_env(environment.stats, STORMS)
    for line in missed:
        log.error("threshold missed: %s", line)
    if not missed:
        log.info("every threshold met")
    # The thresholds decide, not Locust's default of failing the run on any single error.
    environment.process_exit_code = 1 if missed else 0

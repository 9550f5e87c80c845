"""Budget thresholds for a Locust run: the run exits 1 when one is missed, 0 when all are met.

Loaded beside the scenarios: `locust -f loadtests/locustfile.py,k8s/locust/thresholds.py ...`.
Environment:
  LOCUST_MAX_FAIL_RATIO   share of failed samples over all requests (default 0.01)
  LOCUST_ZERO_FAILURES    names that must have no failure at all, ';'-separated ("seq gap;seq duplicate")
  LOCUST_THRESHOLDS       'name:percentile:milliseconds;...', e.g.
                          "message_send -> confirmed:99:500" (that name must have samples)
"""
from __future__ import annotations

import logging
import os

from locust import events

log = logging.getLogger(__name__)


def parse_thresholds(raw: str) -> list[tuple[str, float, float]]:
    """'name:99:500;other:95:200' -> [(name, 0.99, 500.0), ...]; names may contain ':' only before the last two."""
    thresholds = []
    for item in filter(None, (part.strip() for part in raw.split(";"))):
        name, percentile, millis = item.rsplit(":", 2)
        thresholds.append((name.strip(), float(percentile) / 100, float(millis)))
    return thresholds


def _entries(stats, name: str) -> list:
    return [entry for (entry_name, _method), entry in stats.entries.items() if entry_name == name]


def misses(stats, max_fail_ratio: float, zero_failures: list[str],
           thresholds: list[tuple[str, float, float]]) -> list[str]:
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
    for name, percentile, millis in thresholds:
        entries = [entry for entry in _entries(stats, name) if entry.num_requests]
        if not entries:
            missed.append(f"{name}: no samples")
            continue
        for entry in entries:
            value = entry.get_response_time_percentile(percentile)
            if value > millis:
                missed.append(f"{name}: p{percentile * 100:g} {value:.0f} ms > {millis:g} ms")
    return missed


@events.quitting.add_listener
def _enforce(environment, **_kwargs) -> None:
    missed = misses(
        environment.stats,
        float(os.environ.get("LOCUST_MAX_FAIL_RATIO", "0.01")),
        [n.strip() for n in os.environ.get("LOCUST_ZERO_FAILURES", "").split(";") if n.strip()],
        parse_thresholds(os.environ.get("LOCUST_THRESHOLDS", "")),
    )
    for line in missed:
        log.error("threshold missed: %s", line)
    if not missed:
        log.info("every threshold met")
    # The thresholds decide, not Locust's default of failing the run on any single error.
    environment.process_exit_code = 1 if missed else 0

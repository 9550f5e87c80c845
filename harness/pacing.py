"""When a paced client acts next: the Locust Chatter's send schedule (loadtests/locustfile.py)."""
from __future__ import annotations

import math


def next_slot(slot: float, interval: float, now: float) -> float:
    """The first time of the schedule `slot + k * interval` (k >= 1) that is after `now`: a user
    keeps its own phase, and one that fell behind (a reconnect's backoff) skips the slots it
    missed instead of sending them all at once."""
    missed = max(0, math.floor((now - slot) / interval))
    return slot + (missed + 1) * interval

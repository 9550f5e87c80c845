"""A ws process's event loop is watched (apps/ws/loop_watch.py): a stall is counted and logged
with the stack that held the loop, and the loop's lag is measured."""
import asyncio
import logging
import time

from prometheus_client import REGISTRY

from apps.ws.loop_watch import LoopWatch


def sample(name: str) -> float:
    return REGISTRY.get_sample_value(name) or 0.0


def hold_the_loop_until(seen) -> None:
    """Synchronous work on the loop's thread, as a blocking call in a consumer would be."""
    ends = time.monotonic() + 10
    while not seen() and time.monotonic() < ends:
        time.sleep(0.01)


async def test_a_stalled_loop_is_logged_with_the_code_that_held_it(caplog):
    stalls, ticks = sample("chat_ws_loop_stalls_total"), sample("chat_ws_loop_lag_seconds_count")
    watch = LoopWatch(asyncio.get_running_loop(), stall_seconds=0.1)
    watch.start()
    try:
        await asyncio.sleep(0.2)  # a few ticks on time first
        assert sample("chat_ws_loop_lag_seconds_count") > ticks, "the loop's lag is measured"
        with caplog.at_level(logging.WARNING, logger="apps.ws.loop_watch"):
            hold_the_loop_until(lambda: sample("chat_ws_loop_stalls_total") > stalls)
            await asyncio.sleep(0)
    finally:
        watch.stop()

    assert sample("chat_ws_loop_stalls_total") == stalls + 1, "one stall, counted once"
    (record,) = [r for r in caplog.records if r.name == "apps.ws.loop_watch"]
    assert "event loop held for" in record.getMessage()
    assert "hold_the_loop_until" in record.getMessage(), "the stack names the code holding the loop"


async def test_a_loop_that_keeps_running_is_not_reported(caplog):
    stalls = sample("chat_ws_loop_stalls_total")
    watch = LoopWatch(asyncio.get_running_loop(), stall_seconds=1.0)
    watch.start()
    try:
        with caplog.at_level(logging.WARNING, logger="apps.ws.loop_watch"):
            for _ in range(50):  # a busy loop that yields: work in slices of 10 ms, 1 s in all
                time.sleep(0.01)
                await asyncio.sleep(0.01)
    finally:
        watch.stop()
    assert sample("chat_ws_loop_stalls_total") == stalls
    assert not [r for r in caplog.records if r.name == "apps.ws.loop_watch"]

"""The ws process's event loop, watched: how late it runs, and what held it when it stalled.

Every socket of a process is served by one loop. Anything that runs on it without yielding (a
synchronous call, a long computation, a collection, the GIL held by another thread) delays
every send and every delivery the process has, and shows to clients as a latency tail with no
cause on the network. A ticker on the loop notes the time every TICK_SECONDS; how late each
tick runs is the loop's lag (`chat_ws_loop_lag_seconds`). A watchdog thread reads the ticker:
when the loop has not ticked for CHAT_WS_LOOP_STALL_SECONDS it counts a stall
(`chat_ws_loop_stalls_total`) and logs, once per stall, the stack the loop's thread is running
at that moment, so a stall can be found in the code, not guessed at (Node's blocked-at and
aiodebug's slow-callback log do the same for their loops).
"""
import asyncio
import logging
import sys
import threading
import time
import traceback

from django.conf import settings

from chat import metrics

log = logging.getLogger(__name__)

TICK_SECONDS = 0.05
STACK_FRAMES = 15  # the innermost frames of the loop thread's stack, in a stall's log line


class LoopWatch:
    def __init__(self, loop: asyncio.AbstractEventLoop, stall_seconds: float):
        self.loop = loop
        self.loop_thread = threading.get_ident()
        self.stall_seconds = stall_seconds
        self.ticked = time.monotonic()
        self.reported = 0.0  # the tick whose stall was last logged
        self.stopped = False

    def start(self) -> None:
        self.loop.call_later(TICK_SECONDS, self._tick, self.ticked + TICK_SECONDS)
        if self.stall_seconds > 0:
            threading.Thread(target=self._watch, name="loop-watch", daemon=True).start()

    def stop(self) -> None:
        self.stopped = True

    def _tick(self, due: float) -> None:
        if self.stopped:
            return
        now = time.monotonic()
        metrics.WS_LOOP_LAG.observe(max(0.0, now - due))
        self.ticked = now
        self.loop.call_later(TICK_SECONDS, self._tick, now + TICK_SECONDS)

    def _watch(self) -> None:
        while not (self.stopped or self.loop.is_closed()):
            time.sleep(self.stall_seconds / 2)
            ticked = self.ticked
            held = time.monotonic() - ticked - TICK_SECONDS
            if held >= self.stall_seconds and ticked != self.reported and not self.stopped:
                self.reported = ticked
                log.warning("event loop held for %.0f ms so far; it is running:\n%s", held * 1000, self._loop_stack())
                metrics.WS_LOOP_STALLS.inc()  # after the log: a reader of the count finds the record there

    def _loop_stack(self) -> str:
        frame = sys._current_frames().get(self.loop_thread)
        if frame is None:
            return "  (the loop's thread has ended)"
        return "".join(traceback.format_stack(frame)[-STACK_FRAMES:]).rstrip()


def start() -> None:
    """Watch the running loop (once per process: apps/ws/runtime.py)."""
    LoopWatch(asyncio.get_running_loop(), settings.CHAT_WS_LOOP_STALL_SECONDS).start()

"""The ws process's interpreter, set for steady latency once it serves its first socket.

- Garbage collection: a full collection walks every tracked object, and a Django process holds
  a few hundred thousand from its imports alone; every socket of the process waits while it
  runs. `gc.freeze()` moves what exists at the first socket (the imported code and settings,
  which live as long as the process) out of the collector's sight, so a full collection walks
  only what serving allocated. Pauses are measured (`chat_gc_pause_seconds`), so a stall can be
  told apart from the network.
  The thresholds are raised from Python's 700,10,10 to CHAT_WS_GC_THRESHOLDS (20000,10,10).
  Each socket keeps ~150 tracked objects (Twisted, autobahn, the consumer) for as long as it is
  open, so while sockets arrive the old generation grows fast, and Python runs a full collection
  each time it has grown by a quarter: 12 full collections of 100-250 ms each during 10,000
  connects, a fifth of the process's CPU and a stall each. A young generation of 20,000 lets
  most of a connect's short-lived objects die before they are counted old: 0-1 full
  collections for the same connects and a quarter of the collector's CPU (docs/benchmarks.md).
  Cyclic garbage still goes at the next collection of its generation; for what reaches the old
  one, a full collection is considered every ~2 million allocations (20,000 x 10 x 10) and runs
  once the old generation has grown by a quarter, as before.
- The loop is watched (apps/ws/loop_watch.py): its lag is measured, and a stall is logged
  with the stack that held it.
- The database pools: each thread of the pool that runs domain calls (apps/ws/db.py) opens its
  PostgreSQL connection on its first call, and the send pool (chat/async_db.py) on the first
  send. Opened here instead, in the background, the first sends after a start or a deploy do
  not pay for connecting.
"""
import asyncio
import gc
import logging
import threading
import time

from django.conf import settings
from django.db import connection

from apps.ws import db, loop_watch
from chat import actions, metrics

log = logging.getLogger(__name__)

_started = False
_gc_began: dict[int, float] = {}


def start() -> None:
    """Once per process, from the first socket's event loop."""
    global _started
    if _started:
        return
    _started = True
    gc.freeze()
    gc.set_threshold(*settings.CHAT_WS_GC_THRESHOLDS)
    gc.callbacks.append(_time_collection)
    loop_watch.start()
    task = asyncio.get_running_loop().create_task(_warm_pool(), name="db-pool-warm-up")
    task.add_done_callback(lambda t: t.cancelled() or t.exception() is None
                           or log.warning("database pool warm-up failed", exc_info=t.exception()))


def _time_collection(phase: str, info: dict) -> None:
    generation = info["generation"]
    if phase == "start":
        _gc_began[generation] = time.perf_counter()
    elif generation in _gc_began:
        metrics.GC_PAUSE_SECONDS.labels(str(generation)).observe(time.perf_counter() - _gc_began.pop(generation))


async def _warm_pool() -> None:
    """One connection per pool thread: every call waits at a barrier until all of them run,
    so each lands on a thread of its own (never more calls than the pool has threads)."""
    await actions.prepare_sending()
    size = settings.CHAT_WS_DB_THREADS
    if size < 2:
        return await db.call(connection.ensure_connection)
    barrier = threading.Barrier(size, timeout=2)

    def connect() -> None:
        connection.ensure_connection()
        barrier.wait()

    await asyncio.gather(*(db.call(connect) for _ in range(size)))

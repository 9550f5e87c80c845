"""Room and user publications: the wire format, and publishing them once per event.

A publication is one Redis PUBLISH on the room's (or user's) channel, whatever the number of
sockets and ws processes behind it. Its payload is a small JSON header, a newline, and the
frame's JSON exactly as the sockets will receive it: a ws process reads the header and writes
the frame bytes to its local sockets without decoding them (orjson never writes a raw newline,
so the first one ends the header).

Header fields: `kind` (frame type), `room` / `user` (the target), `seq` (message_new),
`change` (the room's change number, for events that PostgreSQL records: message_new and
message_updated), `ts` (commit time, the start of chat_message_fanout_seconds), `exclude` (the
sending socket), `droppable` (typing and presence: the first to go under backpressure), and
`trace` (W3C context, only while tracing).

A publish that fails (Redis away, a failover in progress) is retried in the background for a
while: subscribers drop what they already have by `change`, so a repeat is harmless, and a ws
process also finds a missed change by itself (apps/ws/hub.py reads PostgreSQL).

Embedded (no Redis): the publication goes straight to this process's hub.
"""
import asyncio
import logging
import queue
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass

import orjson
from django.conf import settings

from chat import metrics
from chat.redis_client import async_client, sync_client

log = logging.getLogger(__name__)

RETRY_FOR_SECONDS = 30.0


@dataclass(frozen=True)
class Publication:
    channel: str
    header: dict
    frame: bytes

    def encode(self) -> bytes:
        return orjson.dumps(self.header) + b"\n" + self.frame


def decode(payload: bytes) -> tuple[dict, bytes]:
    head, _, frame = payload.partition(b"\n")
    return orjson.loads(head), frame


def channel_prefix() -> str:
    return f"{settings.REDIS_KEY_PREFIX}:fanout:"


def room_channel(room_id: int) -> str:
    return f"{channel_prefix()}room:{room_id}"


def user_channel(user_id: int) -> str:
    return f"{channel_prefix()}user:{user_id}"


def probe_channel(process_id: str) -> str:
    return f"{channel_prefix()}probe:{process_id}"


# --- embedded: one process, no Redis ---------------------------------------------------------

_local_receiver: Callable[[str, bytes], None] | None = None


def set_local_receiver(receiver: Callable[[str, bytes], None] | None) -> None:
    """The embedded run's hub registers here (it must be thread-safe: publishers run on threads)."""
    global _local_receiver
    _local_receiver = receiver


# --- publishing ------------------------------------------------------------------------------

class _Retrier:
    """Publications that failed, retried in order on one thread until they go or grow too old."""

    def __init__(self):
        self.pending: queue.Queue[tuple[float, Publication]] = queue.Queue(maxsize=100_000)
        self.thread: threading.Thread | None = None
        self.lock = threading.Lock()

    def add(self, publication: Publication) -> None:
        try:
            self.pending.put_nowait((time.monotonic(), publication))
        except queue.Full:
            metrics.CHANNEL_LAYER_ERRORS.labels("publish_dropped").inc()
            return
        with self.lock:
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(target=self._run, name="fanout-publish-retry", daemon=True)
                self.thread.start()

    def _run(self) -> None:
        delay = 0.1
        while True:
            try:
                first_failed, publication = self.pending.get(timeout=5)
            except queue.Empty:
                return
            while True:
                if time.monotonic() - first_failed > RETRY_FOR_SECONDS:
                    metrics.CHANNEL_LAYER_ERRORS.labels("publish_dropped").inc()
                    break
                if _send(publication):
                    delay = 0.1
                    break
                time.sleep(delay)
                delay = min(1.0, delay * 2)


_retrier = _Retrier()


def _send(publication: Publication) -> bool:
    if _local_receiver is not None:
        _local_receiver(publication.channel, publication.encode())
        return True
    client = sync_client()
    if client is None:
        return True  # no Redis and no hub (a management command): nobody is listening
    try:
        client.publish(publication.channel, publication.encode())
        return True
    except Exception:  # noqa: BLE001 - retried; subscribers also repair from PostgreSQL
        metrics.CHANNEL_LAYER_ERRORS.labels("publish").inc()
        log.warning("publish to %s failed; retrying in the background", publication.channel, exc_info=True)
        return False


def publish(publication: Publication) -> None:
    if not _send(publication):
        _retrier.add(publication)


async def close_async() -> None:
    """Close this loop's publishing client (tests: each test's loop has its own)."""
    client = _async_clients.pop(asyncio.get_running_loop(), None)
    if client is not None:
        await client.aclose()


_async_clients: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, object]" = weakref.WeakKeyDictionary()


async def publish_async(publication: Publication) -> None:
    """The same PUBLISH from an event loop (its own asyncio client per loop); a failure goes to
    the same background retries."""
    if _local_receiver is not None or not settings.REDIS.configured:
        publish(publication)  # embedded: a call into this process's hub, nothing to wait on
        return
    loop = asyncio.get_running_loop()
    client = _async_clients.get(loop)
    if client is None:
        client = _async_clients[loop] = async_client()
    try:
        await client.publish(publication.channel, publication.encode())
    except Exception:  # noqa: BLE001 - retried; subscribers also repair from PostgreSQL
        metrics.CHANNEL_LAYER_ERRORS.labels("publish").inc()
        log.warning("publish to %s failed; retrying in the background", publication.channel, exc_info=True)
        _retrier.add(publication)

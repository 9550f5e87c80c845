"""How a stored message reaches the notification task, in each way the processes run.

Installed into chat.notifications by the app config of every process (api, ws, embedded, worker).

A process that stores messages does not publish a Celery task per message: building and
publishing one (kombu's message, headers, a Redis LPUSH and its round trip) cost a ws process
about as much CPU as the message's own INSERT (docs/benchmarks.md "The fan-out"). Stored
messages are gathered by one background thread for at most CHAT_NOTIFY_BATCH_SECONDS and go
out as ONE `chat.notify_messages` task per batch, each id with its send's trace context. The
batch window is taken out of the coalescing countdown (CHAT_PUSH_COALESCE_SECONDS), so a
notification is not later than before. Where the batch runs:

- a broker (production): published to `chat.notifications`, due when the oldest message's
  coalescing wait is over;
- embedded (`make run`, CHAT_NOTIFY_IN_THREAD): run eagerly on the batching thread itself, so a
  send never waits on a push;
- tests (`task_always_eager` without the thread): run inline, one message at a time, inside the
  sender's transaction callback, as an eager Celery task always did; a send written from an
  event loop goes through the batch thread instead (the ORM must not block the loop).

A process killed with SIGKILL loses the batch it was gathering (at most one window of ids:
those messages are stored and delivered, only their push is not made); a normal exit sends it.
"""
import asyncio
import atexit
import logging
import os
import threading
import time

from django.conf import settings
from django.db import close_old_connections

from chat import metrics, notifications, tracing

log = logging.getLogger(__name__)

# Publishing to a broker that is failing over: a few quick tries, then give up (after commit, the
# send has already succeeded; blocking the batch for the broker's default retry budget would
# hold the next one).
_PUBLISH_RETRY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5}


def install() -> None:
    notifications.use_queue(enqueue)


def enqueue(message_id: int) -> None:
    """A message was stored (called after commit): queue its notification work."""
    item = (message_id, tracing.context_carrier(), time.monotonic())
    if _run_inline():
        from apps.worker.tasks import notify_messages

        notify_messages.apply(([[message_id, item[1]]],))
        return
    _batcher().add(item)


def _run_inline() -> bool:
    """Eager tests run the task in the sender's thread, unless that thread runs an event loop
    (a send written from the loop, chat.async_db): the ORM may not block it, so the batch
    thread runs it (eagerly too)."""
    from apps.worker.celery import app

    return not _on_event_loop() and app.conf.task_always_eager and not settings.CHAT_NOTIFY_IN_THREAD


def _on_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


class Batcher:
    """Gathers items on the calling threads; one daemon thread hands each batch to `flush`
    once its oldest item has waited `window` seconds (or the batch has `limit` items)."""

    def __init__(self, flush, window: float, limit: int):
        self.flush = flush
        self.window = window
        self.limit = limit
        self.items: list = []
        self.ready = threading.Condition()
        self.thread = threading.Thread(target=self._run, name="notification-batches", daemon=True)
        self.thread.start()

    def add(self, item) -> None:
        with self.ready:
            self.items.append(item)
            if len(self.items) == 1 or len(self.items) >= self.limit:
                self.ready.notify()

    def _take(self) -> list:
        with self.ready:
            while True:
                while not self.items:
                    self.ready.wait()
                due = self.items[0][2] + self.window
                while self.items and len(self.items) < self.limit and (left := due - time.monotonic()) > 0:
                    self.ready.wait(left)
                if self.items:  # (drain() may have sent them meanwhile)
                    batch, self.items = self.items, []
                    return batch

    def _run(self) -> None:
        while True:
            self._send(self._take())

    def drain(self) -> None:
        """Send what is gathered now (the process is exiting)."""
        with self.ready:
            batch, self.items = self.items, []
        if batch:
            self._send(batch)

    def _send(self, batch: list) -> None:
        try:
            self.flush(batch)
        except Exception:  # noqa: BLE001 - the messages are stored and delivered live; only their push is lost
            metrics.PUSH_ENQUEUE_ERRORS.inc(len(batch))
            log.exception("could not queue the notifications of %d messages", len(batch))


_state: dict = {"batcher": None, "pid": None}
_state_lock = threading.Lock()


def _batcher() -> Batcher:
    """This process's batcher, made on first use (and again in a forked child: threads do not
    survive a fork, e.g. gunicorn's workers)."""
    with _state_lock:
        if _state["batcher"] is None or _state["pid"] != os.getpid():
            _state["batcher"] = Batcher(_flush, settings.CHAT_NOTIFY_BATCH_SECONDS, settings.CHAT_NOTIFY_BATCH_LIMIT)
            _state["pid"] = os.getpid()
            atexit.register(_state["batcher"].drain)
        return _state["batcher"]


def _flush(batch: list) -> None:
    from apps.worker.tasks import notify_messages

    payload = [[message_id, carrier] for message_id, carrier, _ in batch]
    if settings.CHAT_NOTIFY_IN_THREAD:
        try:
            notify_messages.apply((payload,))
        finally:
            close_old_connections()  # this thread's connection, as a request's would be
        return
    # The countdown lets a burst commit before the task looks at the room (one notification);
    # the time the oldest message spent in the batch is part of it.
    waited = time.monotonic() - batch[0][2]
    # argsrepr: Celery otherwise writes a repr of the whole batch into the message's headers
    # (saferepr of every id and trace carrier: about a quarter of the publish's CPU, py-spy).
    notify_messages.apply_async((payload,), countdown=max(0.0, settings.CHAT_PUSH_COALESCE_SECONDS - waited),
                                retry=True, retry_policy=_PUBLISH_RETRY,
                                argsrepr=f"[{len(payload)} messages: {payload[0][0]}..{payload[-1][0]}]", kwargsrepr="{}")

"""How a stored message reaches the notification task, in each way the processes run.

Installed into chat.notifications by the app config of every process (api, ws, embedded, worker).
"""
import logging
import queue
import threading

from django.conf import settings
from django.db import close_old_connections

from chat import notifications

log = logging.getLogger(__name__)
_backlog: queue.Queue = queue.Queue()
_thread: threading.Thread | None = None
_thread_lock = threading.Lock()

# Publishing to a broker that is failing over: a few quick tries, then give up (after commit, the
# send has already succeeded; blocking it for the broker's default retry budget would stall it).
_PUBLISH_RETRY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5}


def install() -> None:
    notifications.use_queue(enqueue)


def enqueue(message_id: int) -> None:
    from apps.worker.tasks import notify_message

    if settings.CHAT_NOTIFY_IN_THREAD:
        _start_thread()
        _backlog.put(message_id)
        return
    # The countdown lets a burst commit before the first task looks at the room (one notification).
    notify_message.apply_async((message_id,), countdown=settings.CHAT_PUSH_COALESCE_SECONDS,
                               retry=True, retry_policy=_PUBLISH_RETRY)


def _start_thread() -> None:
    """Embedded: one background thread runs the tasks eagerly, so a send never waits on a push."""
    global _thread
    with _thread_lock:
        if _thread is None or not _thread.is_alive():
            _thread = threading.Thread(target=_drain, name="notifications", daemon=True)
            _thread.start()


def _drain() -> None:
    from apps.worker.tasks import notify_message

    while True:
        message_id = _backlog.get()
        try:
            notify_message.apply((message_id,))
        except Exception:  # noqa: BLE001 - one failed notification must not stop the thread
            log.exception("notification of message %s failed", message_id)
        finally:
            close_old_connections()

"""Tasks: load ids, call chat.notifications, schedule what it asks for. No rules here."""
import threading

from celery import shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError, close_old_connections, connection

from chat import notifications, push_ledger, tracing

# Broker-side bound on one notification's retries (chat counts attempts too; this is the backstop).
MAX_TASK_RETRIES = 20
# PostgreSQL gone mid-task (a restart, a failover, a connection ended under the worker).
DATABASE_LOST = (OperationalError, InterfaceError)


@shared_task(name="chat.notify_messages", bind=True, max_retries=MAX_TASK_RETRIES)
def notify_messages(self, items: list) -> None:
    """Messages a process stored within one batch window (apps/worker/queueing.py), each
    `[message_id, trace carrier]`: notify the members who should hear of each, the batch at
    once. Its span continues the first send's trace and links to every send's."""
    message_ids = [message_id for message_id, _ in items]
    with tracing.batch_span([carrier for _, carrier in items], "notify messages",
                            attributes={"chat.messages": len(message_ids)}):
        try:
            _notify(message_ids, eager=self.request.is_eager)
        except DATABASE_LOST as exc:
            _again_after_leases(self, exc)


@shared_task(name="chat.notify_message", bind=True, max_retries=MAX_TASK_RETRIES)
def notify_message(self, message_id: int) -> None:
    """One message (what processes queued before batches; kept for tasks still in a queue)."""
    try:
        _notify([message_id], eager=self.request.is_eager)
    except DATABASE_LOST as exc:
        _again_after_leases(self, exc)


def _notify(message_ids: list[int], *, eager: bool) -> None:
    for notification_id, outcome in notifications.notify(message_ids):
        if outcome.result == "retry":
            _later(notification_id, outcome.retry_in, eager=eager)


@shared_task(name="chat.push_retry", bind=True, max_retries=MAX_TASK_RETRIES)
def push_retry(self, notification_id: int) -> None:
    """Another try of one notification the push service did not take."""
    try:
        outcome = notifications.attempt(notification_id)
    except DATABASE_LOST as exc:
        _again_after_leases(self, exc)
    if outcome.result != "retry":
        return
    if self.request.retries >= MAX_TASK_RETRIES:
        notifications.give_up(notification_id)
    elif self.request.is_eager:
        _later(notification_id, outcome.retry_in, eager=True)
    else:
        raise self.retry(countdown=_countdown(outcome.retry_in))


def _again_after_leases(task, exc: Exception) -> None:
    """The database went away mid-task: the task runs again once the leases it may have taken
    have run out. Without this the rows it claimed would stay `sending` and the ones it had
    planned `pending`, with no task left to send them. Planning again finds its own rows
    (UNIQUE per subscription and message) and sends what is still claimable; a request whose
    answer could not be recorded is made again (the ledger's one exception, same Topic)."""
    connection.close()  # a dead connection is not reused by the next try
    if task.request.is_eager or task.request.retries >= MAX_TASK_RETRIES:
        raise exc
    raise task.retry(exc=exc, countdown=push_ledger.lease().total_seconds() + 1)


def _later(notification_id: int, seconds: float | None, *, eager: bool) -> None:
    if not eager:
        push_retry.apply_async((notification_id,), countdown=_countdown(seconds))
        return
    # Embedded (no broker): the retry waits on a timer thread instead of an ETA in Redis.
    timer = threading.Timer(_countdown(seconds), _eager_retry, (notification_id,))
    timer.daemon = True
    timer.start()


def _eager_retry(notification_id: int) -> None:
    try:
        push_retry.apply((notification_id,))
    finally:
        close_old_connections()


def _countdown(seconds: float | None) -> float:
    # ETA tasks wait unacked in the worker; past the broker's visibility timeout Redis would hand
    # them out again. Longer waits are re-checked: chat keeps the real due time (next_attempt_at).
    limit = settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("visibility_timeout", 300) / 2
    return min(max(seconds or 0.0, 0.0), limit)

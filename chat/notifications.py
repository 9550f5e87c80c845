"""Who is notified of a new message, with what, and the ledger that makes it happen once.

The steps (docs/flows/notifications.md):
1. `message_stored` (called by send_message) queues `notify_messages` after commit, through the
   queue the worker app installs (`use_queue`); a short countdown lets a burst settle.
2. `plan(message_id)`: the members to notify are those with a push subscription, no open socket
   (chat.presence), no mute on the room, and a read watermark below the message. Each of their
   subscriptions gets ONE ledger row for the room's newest message, carrying the unread count:
   a burst of five is one "5 new messages in ..." notification, because the tasks of the four
   other messages find a row at a seq >= theirs and do nothing.
3. `attempt_many(ids)`: load the batch in one query; claim each row (a conditional UPDATE, committed before its request),
   send, record the answer. 404/410 delete the subscription; 429/5xx/timeouts are retried with
   exponential backoff (Retry-After honoured); 413 drops.

Never twice: the ledger's UNIQUE(subscription, message) and the claim's state machine live in
PostgreSQL, so retried tasks, a task delivered twice, and two workers racing all resolve to one
request per notification. The one window no protocol can close is a request whose outcome is
unknown (a timeout, or a worker killed while the request was in flight): that claim is sent
again once its lease expires, with the same Topic, so the push service and the browser replace
the earlier copy instead of showing a second one. We chose that over at-most-once because a
lost notification is silent and a replaced one is not visible.
"""
import json
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from chat import metrics, presence, webpush
from chat.models import Membership, Message, PushNotification, PushSubscription, Room, RoomMute

log = logging.getLogger(__name__)
State = PushNotification.State

_queue: Callable[[int], None] | None = None


def use_queue(enqueue: Callable[[int], None]) -> None:
    """The worker app registers how a stored message reaches the notification task."""
    global _queue
    _queue = enqueue


def message_stored(message_id: int) -> None:
    """Queue the notification work for a new message once its transaction has committed."""
    if _queue is not None:
        transaction.on_commit(lambda: _enqueue(message_id))


def message_committed(message_id: int) -> None:
    """message_stored for a write that has already committed (chat.async_db: autocommit)."""
    _enqueue(message_id)


def _enqueue(message_id: int) -> None:
    try:
        _queue(message_id)
    except Exception:  # noqa: BLE001 - the message is stored and delivered live; only its push is lost
        metrics.PUSH_ENQUEUE_ERRORS.inc()
        log.exception("could not queue the notification of message %s", message_id)


def notify(message_id: int) -> list[tuple[int, "Outcome"]]:
    """Everything a stored message calls for: the plan, then an attempt of each ready row; the
    rows to retry are in the outcomes (the caller schedules them)."""
    outcomes = attempt_many(plan(message_id))
    metrics.PUSH_MESSAGES.inc()
    return outcomes


# --- 1. the plan ------------------------------------------------------------------------------

def _lease() -> timedelta:
    # The request's own timeout plus slack: past this, the claimer is dead or lost the answer.
    return timedelta(seconds=settings.CHAT_PUSH_TIMEOUT_SECONDS + 5)


def _claimable(now) -> Q:
    return (Q(state=State.PENDING) | Q(state=State.RETRYING, next_attempt_at__lte=now)
            | Q(state=State.SENDING, lease_until__lt=now))


def recipients(message: Message) -> list[Membership]:
    """Members to notify of `message`: not the sender, subscribed, not muted, not read, offline."""
    candidates = list(
        Membership.objects.filter(room_id=message.room_id, last_read_seq__lt=message.seq)
        .exclude(user_id=message.sender_id)
        .filter(user__push_subscriptions__isnull=False)
        .exclude(user_id__in=RoomMute.objects.filter(room_id=message.room_id).values("user_id"))
        .distinct()
    )
    if not candidates:
        return []
    online = presence.store().online_user_ids([m.user_id for m in candidates])
    return [m for m in candidates if m.user_id not in online]


def plan(message_id: int) -> list[int]:
    """Record (idempotently) the notifications this message calls for; return the ledger rows
    that are ready to be attempted now (new ones, and unfinished ones a crash left behind)."""
    message = Message.objects.filter(id=message_id, deleted_at__isnull=True).first()
    if message is None:
        return []
    members = recipients(message)
    if not members:
        return []
    newest = Message.objects.filter(room_id=message.room_id).order_by("-seq").first()
    subscriptions = list(PushSubscription.objects.filter(user_id__in=[m.user_id for m in members]))
    unread_of = {m.user_id: newest.seq - m.last_read_seq for m in members}
    covered = set(PushNotification.objects.filter(
        subscription__in=subscriptions, room_id=message.room_id, seq__gte=message.seq,
    ).values_list("subscription_id", flat=True))
    PushNotification.objects.bulk_create(
        [PushNotification(subscription=s, message=newest, room_id=message.room_id, seq=newest.seq,
                          unread=unread_of[s.user_id])
         for s in subscriptions if s.id not in covered],
        ignore_conflicts=True)  # a racing task created it first: UNIQUE(subscription, message)
    return list(PushNotification.objects.filter(
        _claimable(timezone.now()), subscription__in=subscriptions, room_id=message.room_id,
        seq__gte=message.seq).values_list("id", flat=True))


# --- 2. one attempt ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Outcome:
    result: str  # sent | gone | retry | dropped | error | skipped
    retry_in: float | None = None  # seconds until the next attempt (result == "retry")


def _load(notification_ids: list[int]) -> list[PushNotification]:
    """What the requests of a batch need, in one query (rows not claimable now are left out)."""
    return list(PushNotification.objects.select_related("subscription", "message", "message__sender", "room")
                .filter(_claimable(timezone.now()), id__in=notification_ids).order_by("id"))


# The two statements every notification makes, in SQL: the same as _claimable() and _finish()
# through the ORM, without building and compiling a queryset for each (a third of the worker's
# CPU per notification, docs/benchmarks.md "Worker").
_TABLE = PushNotification._meta.db_table
_CLAIM_SQL = (f"UPDATE {_TABLE} SET state = %s, lease_until = %s, attempts = attempts + 1 WHERE id = %s AND ("
              "state = %s OR (state = %s AND next_attempt_at <= %s) OR (state = %s AND lease_until < %s))")
_FINISH_SQL = f"UPDATE {_TABLE} SET state = %s, reason = %s, lease_until = NULL, sent_at = %s WHERE id = %s AND state = %s"


def _claim(notification: PushNotification) -> bool:
    """Take one row: a conditional UPDATE, committed (autocommit) before its request is made. Per
    row, not per batch: each lease starts when its own request does, so a long batch never
    holds rows whose lease ran out before their turn."""
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(_CLAIM_SQL, [State.SENDING, now + _lease(), notification.id,
                                    State.PENDING, State.RETRYING, now, State.SENDING, now])
        claimed = cursor.rowcount
    if claimed:
        notification.state, notification.attempts = State.SENDING, notification.attempts + 1
    return bool(claimed)


def attempt(notification_id: int) -> Outcome:
    """Claim one ledger row and make its push request; record what the push service said."""
    return attempt_many([notification_id])[0][1]


def attempt_many(notification_ids: list[int]) -> list[tuple[int, Outcome]]:
    """Load the batch (one query) and who read meanwhile (one query), then per row: claim, make
    the push request, record the answer (two statements and the request). A worker killed
    mid-batch leaves only the row whose request was in flight to be sent again."""
    if not notification_ids:
        return []
    rows = _load(notification_ids)
    read = _read_meanwhile(rows)
    titles: dict[tuple[int, int], str] = {}
    outcomes: dict[int, Outcome] = {}
    for notification in rows:
        if not _claim(notification):  # finished, or taken by another worker since the load
            continue
        if notification.id in read:
            _finish(notification, State.DROPPED, "read")
            outcomes[notification.id] = Outcome("dropped")
        else:
            outcomes[notification.id] = _push(notification, titles)
    return [(nid, outcomes[nid] if nid in outcomes else _not_claimed(nid)) for nid in notification_ids]


def _push(notification: PushNotification, titles: dict) -> Outcome:
    sub = notification.subscription
    body = payload(notification, titles)
    metrics.PUSH_NOTIFY_SECONDS.observe((timezone.now() - notification.message.created_at).total_seconds())
    answer = webpush.send(sub.endpoint, sub.p256dh, sub.auth, body,
                          topic=topic(notification.room_id), ttl=settings.CHAT_PUSH_TTL_SECONDS)
    metrics.PUSH_REQUESTS.labels(answer.result).inc()
    return _record(notification, answer)


def _not_claimed(notification_id: int) -> Outcome:
    row = PushNotification.objects.filter(id=notification_id).values("state", "next_attempt_at").first()
    if row and row["state"] == State.RETRYING and row["next_attempt_at"]:
        # Retry-After longer than one countdown may wait: ask again when it is due.
        return Outcome("retry", max(0.0, (row["next_attempt_at"] - timezone.now()).total_seconds()))
    return Outcome("skipped")


def _read_meanwhile(notifications: list[PushNotification]) -> set[int]:
    """The rows whose member has read up to the notified message since the plan (another device)."""
    if not notifications:
        return set()
    read = {(room, user): seq for room, user, seq in Membership.objects.filter(
        room_id__in={n.room_id for n in notifications},
        user_id__in={n.subscription.user_id for n in notifications}).values_list("room_id", "user_id", "last_read_seq")}
    return {n.id for n in notifications if read.get((n.room_id, n.subscription.user_id), 0) >= n.seq}


def _finish(notification: PushNotification, state: str, reason: str = "") -> None:
    with connection.cursor() as cursor:
        cursor.execute(_FINISH_SQL, [state, reason, timezone.now() if state == State.SENT else None,
                                     notification.id, State.SENDING])


def retry_delay(attempts: int, retry_after: float | None) -> float:
    """Exponential backoff with jitter (1 s, 2 s, 4 s ... 5 min), never sooner than Retry-After."""
    backoff = min(300.0, 2.0 ** max(0, attempts - 1)) * random.uniform(0.8, 1.2)
    return max(backoff, retry_after or 0.0)


def _record(notification: PushNotification, answer: webpush.PushAnswer) -> Outcome:
    if answer.result == "sent":
        _finish(notification, State.SENT)
        return Outcome("sent")
    if answer.result == "gone":
        # The browser unsubscribed or the subscription expired: forget it (its ledger rows go too).
        PushSubscription.objects.filter(id=notification.subscription_id).delete()
        return Outcome("gone")
    if answer.result == "retry" and notification.attempts < settings.CHAT_PUSH_MAX_ATTEMPTS:
        delay = retry_delay(notification.attempts, answer.retry_after)
        PushNotification.objects.filter(id=notification.id, state=State.SENDING).update(
            state=State.RETRYING, lease_until=None, reason=f"{answer.status or answer.detail}"[:40],
            next_attempt_at=timezone.now() + timedelta(seconds=delay))
        return Outcome("retry", delay)
    reason = answer.detail or f"status {answer.status}"
    log.warning("push dropped for subscription %s: %s %s", notification.subscription_id, answer.result, reason)
    _finish(notification, State.DROPPED, f"{answer.result}: {reason}"[:40])
    return Outcome("dropped" if answer.result == "retry" else answer.result)


def give_up(notification_id: int) -> None:
    """The retry task ran out of tries (the broker-side bound): drop whatever is left."""
    PushNotification.objects.filter(id=notification_id).exclude(state__in=[State.SENT, State.DROPPED]).update(
        state=State.DROPPED, reason="gave up", lease_until=None)


# --- 3. what the notification says ------------------------------------------------------------

_BODY_CHARS = 160


def topic(room_id: int) -> str:
    """RFC 8030 Topic (<= 32 URL-safe base64 characters): one pending notification per room."""
    return f"room-{room_id}"


def _room_title(room: Room, user_id: int) -> str:
    if room.name:
        return room.name
    other = (Membership.objects.filter(room_id=room.id).exclude(user_id=user_id)
             .values_list("user__username", flat=True).first())
    return other or "a chat"


def payload(notification: PushNotification, titles: dict | None = None) -> bytes:
    """Small JSON (well under the 4 KB Web Push limit): what the service worker shows and the
    room + seq a click opens. `titles` memoizes room titles over a batch."""
    message = notification.message
    titles = {} if titles is None else titles
    key = (notification.room_id, notification.subscription.user_id)
    if key not in titles:
        titles[key] = _room_title(notification.room, notification.subscription.user_id)
    room_title = titles[key]
    count = notification.unread
    title = f"{count} new messages in {room_title}" if count > 1 else f"{message.sender.username} in {room_title}"
    text = message.content if len(message.content) <= _BODY_CHARS else message.content[:_BODY_CHARS - 1] + "…"
    body = f"{message.sender.username}: {text}" if count > 1 else text
    return json.dumps({
        "type": "message", "room": notification.room_id, "seq": notification.seq, "message": message.id,
        "unread": count, "title": title, "body": body, "tag": topic(notification.room_id),
    }, ensure_ascii=False, separators=(",", ":")).encode()

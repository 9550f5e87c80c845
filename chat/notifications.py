"""Who is notified of new messages, with what, and how each notification is made once.

The steps (docs/flows/notifications.md):
1. `message_stored` (called by send_message) queues the message after commit, through the
   queue the worker app installs (`use_queue`): a process's messages go out as one batch task,
   after a short countdown that lets a burst settle.
2. `plan(message_ids)`, for the whole batch in a few queries: the members to notify are those
   with a push subscription, no open socket (chat.presence), no mute on the room, and a read
   watermark below the message. Each of their subscriptions gets ONE ledger row for the room's
   newest message, carrying the unread count: a burst of five is one "5 new messages in ..."
   notification, because the other messages find a row at a seq >= theirs and add nothing.
3. `attempt_many`: the ready rows in chunks of CHAT_PUSH_CONCURRENCY: claim the chunk (one
   statement, committed before its requests: chat/push_ledger.py), post its requests at once,
   record the answers in waves as they come (one statement per distinct outcome). 404/410
   delete the subscription; 429/5xx/timeouts are retried with exponential backoff (Retry-After
   honoured); 413 drops.

Never twice: the ledger's UNIQUE(subscription, message) and the claim's state machine live in
PostgreSQL, so retried tasks, a task delivered twice, and two workers racing all resolve to one
request per notification. The one window no protocol can close is a request whose outcome the
ledger does not know: a timeout, or a worker killed while requests were in flight or their
answers not yet recorded (at most one chunk per running task, the answers of the last
push_client.WAVE_SECONDS included). Such a row is claimed again once its lease expires and sent
again with the same Topic, so the push service and the browser replace the earlier copy
instead of showing a second one. We chose that over at-most-once because a lost notification
is silent and a replaced one is not visible.
"""
import json
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, Subquery
from django.utils import timezone

from chat import metrics, presence, push_ledger, webpush
from chat.models import Membership, Message, PushNotification, PushSubscription, RoomMute

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


def notify(message_ids: list[int]) -> list[tuple[int, "Outcome"]]:
    """Everything a batch of stored messages calls for: the plan, then an attempt of each ready
    row; the rows to retry are in the outcomes (the caller schedules them)."""
    rows = plan(message_ids)
    outcomes = _attempt(rows, [row.id for row in rows])
    metrics.PUSH_MESSAGES.inc(len(message_ids))
    return outcomes


# --- 1. the plan ------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Stored:
    id: int
    room_id: int
    seq: int
    sender_id: int
    newest_id: int  # the room's newest message now: what a notification of the room shows
    newest_seq: int


def _stored(message_ids: list[int]) -> list[_Stored]:
    newest = Message.objects.filter(room_id=OuterRef("room_id"), seq=OuterRef("room__last_seq")).values("id")[:1]
    return [_Stored(*row) for row in Message.objects.filter(id__in=message_ids, deleted_at__isnull=True)
            .values_list("id", "room_id", "seq", "sender_id", Subquery(newest), "room__last_seq").order_by("id")]


def _candidates(messages: list[_Stored]) -> list[tuple[int, int, int]]:
    """(room, user, read watermark) of the members with a subscription and no mute, below the
    batch's newest message of their room (each message filters further: recipients)."""
    below = Q()
    for room_id in {m.room_id for m in messages}:
        below |= Q(room_id=room_id, last_read_seq__lt=max(m.seq for m in messages if m.room_id == room_id))
    return list(Membership.objects.filter(below)
                .filter(Exists(PushSubscription.objects.filter(user_id=OuterRef("user_id"))))
                .exclude(Exists(RoomMute.objects.filter(room_id=OuterRef("room_id"), user_id=OuterRef("user_id"))))
                .values_list("room_id", "user_id", "last_read_seq"))


def recipients(messages: list[_Stored]) -> dict[int, dict[int, int]]:
    """Per message id, the members to notify (user -> read watermark): not the sender,
    subscribed, not muted, not read, offline (one presence look-up for the batch)."""
    by_room: dict[int, list[tuple[int, int]]] = {}
    for room_id, user, read in _candidates(messages):
        by_room.setdefault(room_id, []).append((user, read))
    users = {user for members in by_room.values() for user, _ in members}
    online = presence.store().online_user_ids(users) if users else set()
    return {m.id: {user: read for user, read in by_room.get(m.room_id, ())
                   if read < m.seq and user != m.sender_id and user not in online}
            for m in messages}


def _subscriptions(users: set[int]) -> dict[int, list[int]]:
    """user -> their subscription ids, in id order."""
    found: dict[int, list[int]] = {}
    for sub_id, user in PushSubscription.objects.filter(user_id__in=users).values_list("id", "user_id").order_by("id"):
        found.setdefault(user, []).append(sub_id)
    return found


def _existing(subscription_ids: list[int], messages: list[_Stored]) -> dict[tuple[int, int], list[tuple]]:
    """(subscription, room) -> [(row id, seq, claimable now)] of the rows at or after the batch's
    messages: what covers a message already (a burst's first task made it), and what a crash
    left unfinished."""
    found: dict[tuple[int, int], list[tuple]] = {}
    for row_id, sub_id, room_id, seq, ready in PushNotification.objects.filter(
            subscription_id__in=subscription_ids, room_id__in={m.room_id for m in messages},
            seq__gte=min(m.seq for m in messages)).annotate(ready=Q(push_ledger.claimable(timezone.now()))).values_list(
            "id", "subscription_id", "room_id", "seq", "ready"):
        found.setdefault((sub_id, room_id), []).append((row_id, seq, ready))
    return found


def plan(message_ids: list[int]) -> list[push_ledger.Notice]:
    """Record (idempotently) the notifications these messages call for; return the ledger rows
    ready to be attempted now (new ones, and unfinished ones a crash left behind), loaded."""
    messages = _stored(message_ids)
    members = recipients(messages)
    subscriptions = _subscriptions({user for found in members.values() for user in found})
    if not subscriptions:
        return []
    existing = _existing([s for subs in subscriptions.values() for s in subs], messages)
    new: dict[tuple[int, int], PushNotification] = {}
    leftovers: set[int] = set()
    for m in messages:
        for user, read in members[m.id].items():
            for sub_id in subscriptions.get(user, ()):
                covering = [(row_id, ready) for row_id, seq, ready in existing.get((sub_id, m.room_id), ()) if seq >= m.seq]
                leftovers.update(row_id for row_id, ready in covering if ready)
                if not covering and (sub_id, m.newest_id) not in new:
                    new[sub_id, m.newest_id] = PushNotification(
                        subscription_id=sub_id, message_id=m.newest_id, room_id=m.room_id, seq=m.newest_seq,
                        unread=m.newest_seq - read)
    return _record_and_load(new, leftovers)


def _record_and_load(new: dict[tuple[int, int], PushNotification], leftovers: set[int]) -> list[push_ledger.Notice]:
    # A racing task may have made a row first: UNIQUE(subscription, message) keeps one. Made (and
    # so sent) in subscription order.
    PushNotification.objects.bulk_create(sorted(new.values(), key=lambda row: row.subscription_id),
                                         ignore_conflicts=True)
    made = Q(subscription_id__in={s for s, _ in new}, message_id__in={mid for _, mid in new})
    return [row for row in push_ledger.load(made | Q(id__in=leftovers))
            if row.id in leftovers or (row.subscription_id, row.message_id) in new]


# --- 2. the attempts --------------------------------------------------------------------------

@dataclass(frozen=True)
class Outcome:
    result: str  # sent | gone | retry | dropped | error | skipped
    retry_in: float | None = None  # seconds until the next attempt (result == "retry")


def attempt(notification_id: int) -> Outcome:
    """Claim one ledger row and make its push request; record what the push service said."""
    return attempt_many([notification_id])[0][1]


def attempt_many(notification_ids: list[int]) -> list[tuple[int, Outcome]]:
    """The rows of `notification_ids` that are claimable now, attempted (see _attempt)."""
    return _attempt(push_ledger.load(Q(id__in=notification_ids)), notification_ids)


def _attempt(rows: list[push_ledger.Notice], asked: list[int]) -> list[tuple[int, Outcome]]:
    """Drop the rows read meanwhile; send the others a chunk at a time (claim, post at once,
    record in waves). A worker killed mid-chunk leaves only that chunk's unrecorded rows to be
    sent again."""
    read = [row for row in rows if (row.read_seq or 0) >= row.seq]
    push_ledger.drop_read(read)
    outcomes = {row.id: Outcome("dropped") for row in read}
    to_send = [row for row in rows if row.id not in outcomes]
    width = settings.CHAT_PUSH_CONCURRENCY
    for start in range(0, len(to_send), width):
        outcomes.update(_push(push_ledger.claim(to_send[start:start + width])))
    retrying = push_ledger.retry_due([nid for nid in asked if nid not in outcomes])
    # Retry-After longer than one countdown may wait: ask again when it is due.
    return [(nid, outcomes.get(nid) or (Outcome("retry", retrying[nid]) if nid in retrying else Outcome("skipped")))
            for nid in asked]


def _push(claimed: list[push_ledger.Notice]) -> dict[int, Outcome]:
    if not claimed:
        return {}
    now = timezone.now()
    pushes = []
    for row in claimed:
        metrics.PUSH_NOTIFY_SECONDS.observe((now - row.created_at).total_seconds())
        pushes.append(webpush.Push(row.endpoint, row.p256dh, row.auth, payload(row), topic(row.room_id)))
    outcomes: dict[int, Outcome] = {}
    for wave in webpush.send_all(pushes, ttl=settings.CHAT_PUSH_TTL_SECONDS):
        outcomes.update(_record([(claimed[index], answer) for index, answer in wave]))
    return outcomes


def retry_delay(attempts: int, retry_after: float | None) -> float:
    """Exponential backoff with jitter (1 s, 2 s, 4 s ... 5 min), never sooner than Retry-After."""
    backoff = min(300.0, 2.0 ** max(0, attempts - 1)) * random.uniform(0.8, 1.2)
    return max(backoff, retry_after or 0.0)


def _decide(row: push_ledger.Notice, answer: webpush.PushAnswer) -> tuple[Outcome, push_ledger.Finish | None]:
    """What an answer means for the row (None: the row goes with its subscription)."""
    if answer.result == "sent":
        return Outcome("sent"), push_ledger.Finish(State.SENT)
    if answer.result == "gone":  # the browser unsubscribed or the subscription expired
        return Outcome("gone"), None
    if answer.result == "retry" and row.attempts < settings.CHAT_PUSH_MAX_ATTEMPTS:
        delay = retry_delay(row.attempts, answer.retry_after)
        return Outcome("retry", delay), push_ledger.Finish(
            State.RETRYING, f"{answer.status or answer.detail}", timezone.now() + timedelta(seconds=delay))
    reason = answer.detail or f"status {answer.status}"
    log.warning("push dropped for subscription %s: %s %s", row.subscription_id, answer.result, reason)
    return Outcome("dropped" if answer.result == "retry" else answer.result), push_ledger.Finish(
        State.DROPPED, f"{answer.result}: {reason}")


def _record(answered: list[tuple[push_ledger.Notice, webpush.PushAnswer]]) -> dict[int, Outcome]:
    """One wave of answers into the ledger: a statement per distinct finish, one delete for the
    subscriptions that are gone."""
    outcomes, finishes, gone = {}, {}, set()
    for row, answer in answered:
        metrics.PUSH_REQUESTS.labels(answer.result).inc()
        outcomes[row.id], finishes[row.id] = _decide(row, answer)
        if finishes[row.id] is None:
            gone.add(row.subscription_id)
            del finishes[row.id]
    push_ledger.finish(finishes)
    push_ledger.forget_subscriptions(gone)
    return outcomes


def give_up(notification_id: int) -> None:
    """The retry task ran out of tries (the broker-side bound): drop whatever is left."""
    push_ledger.give_up(notification_id)


# --- 3. what the notification says ------------------------------------------------------------

_BODY_CHARS = 160


def topic(room_id: int) -> str:
    """RFC 8030 Topic (<= 32 URL-safe base64 characters): one pending notification per room."""
    return f"room-{room_id}"


def _room_title(notice: push_ledger.Notice) -> str:
    return notice.room_name or notice.other_member or "a chat"  # a room without a name: its other member


def payload(notice: push_ledger.Notice) -> bytes:
    """Small JSON (well under the 4 KB Web Push limit): what the service worker shows and the
    room + seq a click opens."""
    room_title = _room_title(notice)
    count = notice.unread
    title = f"{count} new messages in {room_title}" if count > 1 else f"{notice.sender} in {room_title}"
    text = notice.content if len(notice.content) <= _BODY_CHARS else notice.content[:_BODY_CHARS - 1] + "…"
    body = f"{notice.sender}: {text}" if count > 1 else text
    return json.dumps({
        "type": "message", "room": notice.room_id, "seq": notice.seq, "message": notice.message_id,
        "unread": count, "title": title, "body": body, "tag": topic(notice.room_id),
    }, ensure_ascii=False, separators=(",", ":")).encode()

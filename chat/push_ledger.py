"""The notification ledger (PushNotification): its claim state machine, a batch at a time.

A row is `pending` when planned; a worker **claims** it (-> `sending`, with a lease of the request
timeout + 5 s, attempts + 1) in a statement committed before the row's request is made; the
answer **finishes** it (-> `sent`, `dropped`, or `retrying` at `next_attempt_at`), but only
while it is still `sending`. Only one claimer can match a row that is pending, due for a retry,
or whose lease ran out, so retried tasks, a task delivered twice and two racing workers make one
request per row. The one exception (chat/notifications.py) is a row whose lease ran out with its
outcome unrecorded: a worker killed with the request in flight or its answer not yet recorded.

Statements are per batch, not per row (one claim for a chunk of rows, one finish per distinct
outcome): per-row statements were two thirds of the worker's database work per notification
(docs/benchmarks.md "Worker"). Plain SQL where the ORM cannot say it (UPDATE ... RETURNING);
the same statement runs on PostgreSQL and on the embedded run's SQLite (>= 3.35).
"""
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection
from django.db.models import OuterRef, Q, Subquery
from django.utils import timezone

from chat.models import Membership, PushNotification, PushSubscription

State = PushNotification.State
_TABLE = PushNotification._meta.db_table


def lease() -> timedelta:
    # The request's own (total) timeout plus slack: past this, the claimer is dead.
    return timedelta(seconds=settings.CHAT_PUSH_TIMEOUT_SECONDS + 5)


def claimable(now: datetime) -> Q:
    """What a claim may take (the same condition as _CLAIM_SQL, for the ORM's reads)."""
    return (Q(state=State.PENDING) | Q(state=State.RETRYING, next_attempt_at__lte=now)
            | Q(state=State.SENDING, lease_until__lt=now))


_CLAIM_SQL = (f"UPDATE {_TABLE} SET state = %s, lease_until = %s, attempts = attempts + 1 WHERE id IN ({{ids}}) AND ("
              "state = %s OR (state = %s AND next_attempt_at <= %s) OR (state = %s AND lease_until < %s)) "
              "RETURNING id, attempts")


@dataclass(frozen=True)
class Notice:
    """A claimable ledger row with all its request needs (load): plain values, not models (model
    instances for five tables were two thirds of the load's CPU)."""

    id: int
    subscription_id: int
    endpoint: str
    p256dh: str
    auth: str
    room_id: int
    room_name: str
    other_member: str | None  # the room's first member other than the recipient (titles a room without a name)
    seq: int
    unread: int
    attempts: int
    message_id: int
    content: str
    sender: str
    created_at: datetime  # the message's commit: notify latency is measured from it
    read_seq: int | None  # the recipient's read watermark now: at or past `seq`, the row is dropped


def load(which: Q) -> list[Notice]:
    """The claimable rows matching `which`, in one query."""
    member = Membership.objects.filter(room_id=OuterRef("room_id"))
    recipient = OuterRef("subscription__user_id")
    columns = {"read_seq": Subquery(member.filter(user_id=recipient).values("last_read_seq")[:1]),
               "other_member": Subquery(member.exclude(user_id=recipient).order_by("id").values("user__username")[:1])}
    rows = (PushNotification.objects.filter(claimable(timezone.now()), which).order_by("id")
            .values_list("id", "subscription_id", "subscription__endpoint", "subscription__p256dh",
                         "subscription__auth", "room_id", "room__name", columns["other_member"], "seq", "unread",
                         "attempts", "message_id", "message__content", "message__sender__username",
                         "message__created_at", columns["read_seq"]))
    return [Notice(*row) for row in rows]


def claim(rows: list[Notice]) -> list[Notice]:
    """Take the rows still claimable, in ONE autocommit statement, before any of their requests:
    each lease runs from here, and the requests start right after (chat/push_client.py)."""
    if not rows:
        return []
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(_CLAIM_SQL.format(ids=", ".join(["%s"] * len(rows))),
                       [State.SENDING, now + lease(), *(row.id for row in rows),
                        State.PENDING, State.RETRYING, now, State.SENDING, now])
        attempts = dict(cursor.fetchall())
    return [replace(row, attempts=attempts[row.id]) for row in rows if row.id in attempts]


@dataclass(frozen=True)
class Finish:
    """How a claimed row ends: rows with equal finishes are written by one statement."""

    state: str
    reason: str = ""
    next_attempt_at: datetime | None = None


def finish(finishes: dict[int, Finish]) -> None:
    """Record the answers of claimed rows: one UPDATE per distinct finish, each only where the
    row is still `sending` (ours)."""
    groups: dict[Finish, list[int]] = {}
    for row_id, how in finishes.items():
        groups.setdefault(how, []).append(row_id)
    now = timezone.now()
    for how, ids in groups.items():
        PushNotification.objects.filter(id__in=ids, state=State.SENDING).update(
            state=how.state, reason=how.reason[:40], lease_until=None, next_attempt_at=how.next_attempt_at,
            sent_at=now if how.state == State.SENT else None)


def drop_read(rows: list[Notice]) -> None:
    """Rows whose member read up to the notified message since the plan: dropped unsent."""
    if rows:
        PushNotification.objects.filter(claimable(timezone.now()), id__in=[row.id for row in rows]).update(
            state=State.DROPPED, reason="read", lease_until=None)


def forget_subscriptions(subscription_ids: set[int]) -> None:
    """A push service said the subscription is gone (404/410): it goes, and its rows with it."""
    if subscription_ids:
        PushSubscription.objects.filter(id__in=subscription_ids).delete()


def retry_due(row_ids: list[int]) -> dict[int, float]:
    """Of rows not claimed, the ones waiting for a retry: seconds until it is due."""
    if not row_ids:
        return {}
    now = timezone.now()
    return {row_id: max(0.0, (due - now).total_seconds()) for row_id, due in PushNotification.objects.filter(
        id__in=row_ids, state=State.RETRYING, next_attempt_at__isnull=False).values_list("id", "next_attempt_at")}


def give_up(row_id: int) -> None:
    """The retry task ran out of tries (the broker-side bound): drop whatever is left."""
    PushNotification.objects.filter(id=row_id).exclude(state__in=[State.SENT, State.DROPPED]).update(
        state=State.DROPPED, reason="gave up", lease_until=None)

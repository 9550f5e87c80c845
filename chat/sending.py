"""The send write: the room's next seq and the message row, in one transaction.

On PostgreSQL it is a single statement (three data-modifying CTEs): the room row is locked by
the counters' UPDATE (chat/counters.py), so concurrent sends into a room queue on that lock and
take consecutive seqs; if the INSERT hits UNIQUE(room, sender, temp_id) the whole statement
fails, the seq increment is rolled back with it, and no gap is left. The sender's own watermarks move to the new message
(you have read what you wrote, and everything before it).
"""
import asyncio
import contextlib
import time
import weakref
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime

import psycopg
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from chat import async_db, metrics
from chat.counters import ADVANCE_FOR_MEMBER

_PG_SEND = f"""
WITH r AS ({ADVANCE_FOR_MEMBER}), m AS (
    INSERT INTO chat_message (room_id, sender_id, seq, temp_id, type, content, created_at,
                              version, created_change_seq, change_seq)
    SELECT %(room)s, %(sender)s, r.last_seq, %(temp_id)s, %(type)s, %(content)s, %(now)s,
           1, r.last_change_seq, r.last_change_seq
    FROM r
    RETURNING id, seq, created_at, change_seq
), w AS (
    UPDATE chat_membership
    SET last_read_seq = GREATEST(last_read_seq, m.seq),
        last_delivered_seq = GREATEST(last_delivered_seq, m.seq)
    FROM m WHERE room_id = %(room)s AND user_id = %(sender)s
)
SELECT id, seq, created_at, change_seq FROM m
"""


@dataclass(frozen=True)
class InsertedMessage:
    id: int
    seq: int
    created_at: datetime
    change_seq: int


def _insert_postgres(params: dict) -> InsertedMessage | None:
    with connection.cursor() as cursor:
        cursor.execute(_PG_SEND, params)
        row = cursor.fetchone()
    return InsertedMessage(*row) if row else None


def _insert_generic(params: dict) -> InsertedMessage | None:
    """The same write for SQLite (the embedded run): several statements in one transaction."""
    with connection.cursor() as cursor:
        cursor.execute(ADVANCE_FOR_MEMBER, params)
        counters = cursor.fetchone()
        if counters is None:
            return None
        seq, change_seq = counters
        cursor.execute(
            "INSERT INTO chat_message (room_id, sender_id, seq, temp_id, type, content, created_at, version, "
            "created_change_seq, change_seq) VALUES (%(room)s, %(sender)s, %(seq)s, %(temp_id)s, %(type)s, "
            "%(content)s, %(now)s, 1, %(change)s, %(change)s) RETURNING id",
            {**params, "seq": seq, "change": change_seq})
        message_id = cursor.fetchone()[0]
        cursor.execute(
            # CASE, not two-argument MAX (SQLite only) or GREATEST (not SQLite): portable SQL.
            "UPDATE chat_membership SET "
            "last_read_seq = CASE WHEN last_read_seq > %(seq)s THEN last_read_seq ELSE %(seq)s END, "
            "last_delivered_seq = CASE WHEN last_delivered_seq > %(seq)s THEN last_delivered_seq ELSE %(seq)s END "
            "WHERE room_id = %(room)s AND user_id = %(sender)s",
            {**params, "seq": seq})
    return InsertedMessage(message_id, seq, params["now"], change_seq)


def _params(room_id: int, sender_id: int, temp_id: str, message_type: str, content: str) -> dict:
    return {"room": room_id, "sender": sender_id, "temp_id": temp_id, "type": message_type,
            "content": content, "now": timezone.now(), "messages": 1, "changes": 1}


def insert_message(*, room_id: int, sender_id: int, temp_id: str, message_type: str, content: str,
                   generic: bool = False) -> InsertedMessage | None:
    """The inserted message, or None when this temp_id was already stored (or the sender is not
    a member: the caller tells the two apart)."""
    params = _params(room_id, sender_id, temp_id, message_type, content)
    insert = _insert_postgres if connection.vendor == "postgresql" and not generic else _insert_generic
    try:
        # A savepoint only when an outer transaction is open: a bare statement is its own transaction.
        if connection.get_autocommit() and insert is _insert_postgres:
            return insert(params)
        with transaction.atomic():
            return insert(params)
    except IntegrityError:
        return None


async def insert_message_async(*, room_id: int, sender_id: int, temp_id: str, message_type: str,
                               content: str) -> InsertedMessage | None:
    """The same statement from an event loop, on chat.async_db's pool (PostgreSQL; autocommit,
    prepared once per connection). None as insert_message; async_db.Unavailable when the pool
    could not run it (the outcome is then unknown: the caller retries the same temp_id)."""
    params = _params(room_id, sender_id, temp_id, message_type, content)
    queued = time.perf_counter()
    async with _room_turn(room_id):
        asked = time.perf_counter()
        metrics.SEND_STATEMENT_SECONDS.labels("room_turn").observe(asked - queued)
        async with async_db.connection() as conn:
            # Timed in parts, so a slow send tells a busy room or pool from a slow PostgreSQL.
            got = time.perf_counter()
            metrics.SEND_STATEMENT_SECONDS.labels("pool_wait").observe(got - asked)
            try:
                cursor = await conn.execute(_PG_SEND, params, prepare=True)
                row = await cursor.fetchone()
            except psycopg.errors.UniqueViolation:
                return None
            finally:
                metrics.SEND_STATEMENT_SECONDS.labels("statement").observe(time.perf_counter() - got)
    return InsertedMessage(*row) if row else None


_room_turns: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict]" = weakref.WeakKeyDictionary()


@contextlib.asynccontextmanager
async def _room_turn(room_id: int) -> AsyncIterator[None]:
    """Sends into one room from this loop take turns, in arrival order, before they take a
    pooled connection. The statement holds the room's row lock until its commit, so a second
    send into the room could only wait on that lock, and it would hold one of the pool's few
    connections while it waits: one slow commit in a busy room then left no connection for any
    other room's sends (the noisy bench's pool waits of ~200 ms with statements at 12 ms p99)."""
    turns = _room_turns.setdefault(asyncio.get_running_loop(), {})
    turn = turns.get(room_id)
    if turn is None:
        turn = turns[room_id] = [asyncio.Lock(), 0]  # the lock, and the sends holding or awaiting it
    turn[1] += 1
    try:
        async with turn[0]:
            yield
    finally:
        turn[1] -= 1
        if not turn[1]:
            del turns[room_id]

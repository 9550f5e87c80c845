"""PostgreSQL from an event loop, without a trip to a thread: one small asyncio connection pool
(psycopg_pool) per loop, on the connection settings and type adapters Django uses.

Only the ws process's hottest write uses it (the send, chat/actions/messages.py): a domain call
through the thread pool (apps/ws/db.py) costs a hand-off to a thread and back, GIL hand-overs
while it waits on PostgreSQL, and Django's cursor layer; at a few hundred sends a second that was
about a third of the send's CPU (docs/benchmarks.md). Everything else keeps Django's connections.
Statements here run in autocommit and are prepared once per connection.

When the pool cannot serve (PostgreSQL restarting, a broken connection) the caller takes the
thread path instead, which reconnects on demand, and the pool is left alone for
CHAT_ASYNC_DB_BACKOFF_SECONDS while it reconnects in the background: an outage costs no send
more than the thread path would. A send that finds no connection within
CHAT_ASYNC_DB_WAIT_SECONDS takes the thread path alone; the pool is not rested for it.

A pool whose connections are at work on statements is not failing, it is busy: PostgreSQL
is slow for a moment (a commit's flush on a shared disk, a descheduled backend). A send then
asks the pool again and waits up to CHAT_ASYNC_DB_BUSY_WAIT_SECONDS more. Sending the
queue to the thread path instead turned a 1 s stall into a collapse: the thread path costs the
process more CPU per send, every send of the next 5 s took it, and the backlog outgrew the
process (the noisy bench run of 2026-12-07 13:56, send p99 6.5 s; docs/benchmarks.md).
"""
import asyncio
import contextlib
import logging
import time
import weakref
from collections.abc import AsyncIterator

import psycopg
from django.conf import settings
from django.db import connections
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from chat import metrics, telemetry

log = logging.getLogger(__name__)

_pools: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, AsyncConnectionPool]" = weakref.WeakKeyDictionary()
_at_work: "weakref.WeakKeyDictionary[AsyncConnectionPool, int]" = weakref.WeakKeyDictionary()  # checked out now
_resting_until = 0.0
APPLICATION_NAME = "chat-async-send"  # how this pool's sessions show in pg_stat_activity


class Unavailable(Exception):
    """The pool could not run the statement; whether a write committed is unknown."""


def available() -> bool:
    """True where the async write can run now: PostgreSQL, turned on, and not resting after a failure."""
    return (connections["default"].vendor == "postgresql" and settings.CHAT_ASYNC_DB_POOL_SIZE > 0
            and time.monotonic() >= _resting_until)


@contextlib.asynccontextmanager
async def connection() -> AsyncIterator[psycopg.AsyncConnection]:
    """A pooled connection; Unavailable when the pool cannot serve (it rests a while only after
    a connection error)."""
    global _resting_until
    found = await pool()
    try:
        conn = await _checkout(found)
        try:
            yield conn
        finally:
            _at_work[found] -= 1
            await found.putconn(conn)  # a broken one is discarded and replaced
    except PoolTimeout as exc:
        # No connection in time and none at work: this send takes the thread path, the pool
        # does not rest. Resting it sent every send of the next seconds down the costlier path
        # whenever the loop itself had stalled past the wait (docs/benchmarks.md, 14:57).
        metrics.SEND_POOL_TIMEOUTS.inc()
        log.warning("no pooled connection within the wait; this send takes the thread path (%s)", found.get_stats())
        raise Unavailable(str(exc)) from exc
    except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
        telemetry.DB_ERRORS.labels("InterfaceError" if isinstance(exc, psycopg.InterfaceError)
                                   else "OperationalError").inc()
        _resting_until = time.monotonic() + settings.CHAT_ASYNC_DB_BACKOFF_SECONDS
        log.warning("async database pool unavailable (%s); sends take the thread path for %.0f s",
                    type(exc).__name__, settings.CHAT_ASYNC_DB_BACKOFF_SECONDS)
        raise Unavailable(str(exc)) from exc


async def _checkout(found: AsyncConnectionPool) -> psycopg.AsyncConnection:
    """A connection of the pool; a pool whose connections are at work is waited for longer."""
    try:
        conn = await found.getconn(settings.CHAT_ASYNC_DB_WAIT_SECONDS)
    except PoolTimeout:
        if not _at_work[found]:
            raise  # no statement under way, and no connection to be had: PostgreSQL is away
        metrics.SEND_POOL_BUSY.inc()
        conn = await found.getconn(settings.CHAT_ASYNC_DB_BUSY_WAIT_SECONDS)
    _at_work[found] += 1
    return conn


def _connection_kwargs() -> dict:
    wrapper = connections["default"]
    params = wrapper.get_connection_params()
    params.pop("cursor_factory", None)  # Django's client-side binding cursor; server binding here
    params.pop("prepare_threshold", None)
    # Django's adapters (timestamps as aware UTC datetimes), and the session in UTC as Django sets it.
    params["options"] = " ".join(filter(None, [params.get("options"), "-c TimeZone=UTC"]))
    return {**params, "autocommit": True, "application_name": APPLICATION_NAME}


async def pool() -> AsyncConnectionPool:
    """This loop's pool, opened on first use (connections are made in the background)."""
    loop = asyncio.get_running_loop()
    found = _pools.get(loop)
    if found is None:
        # Its full size from the start: a pool that grows one connection at a time met the first
        # burst of sends with one connection, and each new one costs a PostgreSQL backend's start.
        size = settings.CHAT_ASYNC_DB_POOL_SIZE
        found = _pools[loop] = AsyncConnectionPool(
            kwargs=_connection_kwargs(), min_size=size, max_size=size, open=False,
            # A database that does not answer fails a send in seconds (message_failed), as Django's
            # own connect_timeout does; a broken connection is replaced, never handed out twice.
            timeout=settings.CHAT_ASYNC_DB_WAIT_SECONDS, name="chat-async", configure=_opened)
        _at_work[found] = 0
        await found.open(wait=False)
    return found


async def _opened(conn: psycopg.AsyncConnection) -> None:
    telemetry.DB_CONNECTIONS_OPENED.inc()  # the same count as Django's connections


async def close() -> None:
    """Close this loop's pool (tests: each test's loop has its own, and starts unrested)."""
    global _resting_until
    _resting_until = 0.0
    found = _pools.pop(asyncio.get_running_loop(), None)
    if found is not None:
        await found.close()

"""PostgreSQL from an event loop, without a trip to a thread: one small asyncio connection pool
(psycopg_pool) per loop, on the connection settings and type adapters Django uses.

Only the ws process's hottest write uses it (the send, chat/actions/messages.py): a domain call
through the thread pool (apps/ws/db.py) costs a hand-off to a thread and back, GIL hand-overs
while it waits on PostgreSQL, and Django's cursor layer; at a few hundred sends a second that was
about a third of the send's CPU (docs/benchmarks.md). Everything else keeps Django's connections.
Statements here run in autocommit and are prepared once per connection.
"""
import asyncio
import weakref

from django.conf import settings
from django.db import connections
from psycopg_pool import AsyncConnectionPool

_pools: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, AsyncConnectionPool]" = weakref.WeakKeyDictionary()


def available() -> bool:
    """True where the async write can run: PostgreSQL, and not turned off."""
    return connections["default"].vendor == "postgresql" and settings.CHAT_ASYNC_DB_POOL_SIZE > 0


def _connection_kwargs() -> dict:
    wrapper = connections["default"]
    params = wrapper.get_connection_params()
    params.pop("cursor_factory", None)  # Django's client-side binding cursor; server binding here
    params.pop("prepare_threshold", None)
    # Django's adapters (timestamps as aware UTC datetimes), and the session in UTC as Django sets it.
    params["options"] = " ".join(filter(None, [params.get("options"), "-c TimeZone=UTC"]))
    return {**params, "autocommit": True}


async def pool() -> AsyncConnectionPool:
    """This loop's pool, opened on first use (connections are made in the background)."""
    loop = asyncio.get_running_loop()
    found = _pools.get(loop)
    if found is None:
        found = _pools[loop] = AsyncConnectionPool(
            kwargs=_connection_kwargs(), min_size=1, max_size=settings.CHAT_ASYNC_DB_POOL_SIZE, open=False,
            # A database that does not answer fails a send in seconds (message_failed), as Django's
            # own connect_timeout does; a broken connection is replaced, never handed out twice.
            timeout=settings.CHAT_ASYNC_DB_WAIT_SECONDS, reconnect_timeout=0, name="chat-async")
        await found.open(wait=False)
    return found


async def close() -> None:
    """Close this loop's pool (tests: each test's loop has its own)."""
    found = _pools.pop(asyncio.get_running_loop(), None)
    if found is not None:
        await found.close()

"""Running domain calls off the event loop.

`database_sync_to_async` funnels every socket's database work through ONE thread; at a few
hundred sends a second that thread is the bottleneck. Domain calls here run on a pool of
threads instead (CHAT_WS_DB_THREADS of them), each with its own persistent connection
(Django's connections are per thread). The pool's size bounds the calls waiting on PostgreSQL at
once: a connect makes two, and the handshakes a process completes per second stop at about
threads / round trip long before its core is busy. The call's context variables (the current trace span)
go with it. Not asgiref's sync_to_async: its per-call bookkeeping (thread-sensitive contexts,
copying the context back) cost about half as much CPU as the hop itself, and nothing here
needs it.
"""
import asyncio
import contextvars
import functools
import threading
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError, connection

_pool: ThreadPoolExecutor | None = None
_pool_made = threading.Lock()


def pool() -> ThreadPoolExecutor:
    """The process's domain-call threads (one pool, whatever loop asks)."""
    global _pool
    with _pool_made:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=settings.CHAT_WS_DB_THREADS, thread_name_prefix="chat-db")
        return _pool


def _guarded(fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except (OperationalError, InterfaceError):
        # A broken connection (database restart, failover): drop it so the next call reconnects.
        connection.close()
        raise
    except DatabaseError:
        if connection.connection is not None and not connection.is_usable():
            connection.close()
        raise


async def call(fn, *args, **kwargs):
    run = functools.partial(contextvars.copy_context().run, _guarded, fn, *args, **kwargs)
    return await asyncio.get_running_loop().run_in_executor(_pool or pool(), run)

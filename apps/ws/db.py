"""Running domain calls off the event loop.

`database_sync_to_async` funnels every socket's database work through ONE thread; at a few
hundred sends a second that thread is the bottleneck. Domain calls here run on a pool of
threads instead (the loop's default executor), each with its own persistent connection
(Django's connections are per thread). The call's context variables (the current trace span)
go with it. Not asgiref's sync_to_async: its per-call bookkeeping (thread-sensitive contexts,
copying the context back) cost about half as much CPU as the hop itself, and nothing here
needs it.
"""
import asyncio
import contextvars
import functools

from django.db import DatabaseError, InterfaceError, OperationalError, connection


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
    return await asyncio.get_running_loop().run_in_executor(None, run)

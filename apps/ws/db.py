"""Running domain calls off the event loop.

`database_sync_to_async` funnels every socket's database work through ONE thread; at a few
hundred sends a second that thread is the bottleneck. Domain calls here run on a pool of
threads instead, each with its own persistent connection (Django's connections are per thread).
"""
import functools

from asgiref.sync import sync_to_async
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
    return await sync_to_async(functools.partial(_guarded, fn, *args, **kwargs), thread_sensitive=False)()

"""This process's Redis clients, through Sentinel when configured so a failover is followed
without a restart: the synchronous one (presence, readiness, publishing) and asyncio ones for
the ws process's fan-out. None / unused when running embedded."""
import functools

import redis
import redis.asyncio
import redis.asyncio.sentinel
from django.conf import settings
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import NoBackoff
from redis.sentinel import Sentinel

_TIMEOUTS = {"socket_timeout": 2.0, "socket_connect_timeout": 2.0}


def _sentinel_kwargs(cfg) -> dict | None:
    return {"password": cfg.password, **_TIMEOUTS} if cfg.password else dict(_TIMEOUTS)


@functools.cache
def sync_client() -> redis.Redis | None:
    cfg = settings.REDIS
    if not cfg.configured:
        return None
    timeouts = {**_TIMEOUTS, "health_check_interval": 10}
    if cfg.uses_sentinel:
        sentinel = Sentinel(list(cfg.sentinels), sentinel_kwargs=_sentinel_kwargs(cfg), **timeouts)
        return sentinel.master_for(cfg.master_name, db=cfg.db, password=cfg.password,
                                   decode_responses=True, **timeouts)
    return redis.Redis.from_url(cfg.url, decode_responses=True, **timeouts)


def async_client(*, for_pubsub: bool = False) -> redis.asyncio.Redis:
    """A new asyncio client (bound to the running loop once it connects). For a subscription:
    no read timeout (the reader waits with its own), and no silent retry: a broken connection
    must surface, because the subscriber re-reads from PostgreSQL whatever it may have missed."""
    cfg = settings.REDIS
    options = dict(_TIMEOUTS)
    if for_pubsub:
        options.update(socket_timeout=None, socket_keepalive=True, retry=AsyncRetry(NoBackoff(), 0))
    if cfg.uses_sentinel:
        sentinel = redis.asyncio.sentinel.Sentinel(list(cfg.sentinels), sentinel_kwargs=_sentinel_kwargs(cfg))
        return sentinel.master_for(cfg.master_name, db=cfg.db, password=cfg.password, **options)
    return redis.asyncio.Redis.from_url(cfg.url, **options)


def key(*parts: object) -> str:
    return ":".join([settings.REDIS_KEY_PREFIX, *map(str, parts)])

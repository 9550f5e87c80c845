"""The synchronous Redis client of this process (presence, readiness), through Sentinel when
configured so a failover is followed without a restart. None when running embedded."""
import functools

import redis
from django.conf import settings
from redis.sentinel import Sentinel


@functools.cache
def sync_client() -> redis.Redis | None:
    cfg = settings.REDIS
    if not cfg.configured:
        return None
    timeouts = {"socket_timeout": 2.0, "socket_connect_timeout": 2.0, "health_check_interval": 10}
    if cfg.uses_sentinel:
        sentinel_kwargs = {"password": cfg.password} if cfg.password else None
        sentinel = Sentinel(list(cfg.sentinels), sentinel_kwargs=sentinel_kwargs, **timeouts)
        return sentinel.master_for(cfg.master_name, db=cfg.db, password=cfg.password,
                                   decode_responses=True, **timeouts)
    return redis.Redis.from_url(cfg.url, decode_responses=True, **timeouts)


def key(*parts: object) -> str:
    return ":".join([settings.REDIS_KEY_PREFIX, *map(str, parts)])

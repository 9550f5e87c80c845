"""The shared cache (throttle counters): Django's Redis cache on the project's Redis, through
Sentinel when configured (Django's own client knows only URLs), and a `clear()` that removes
only this cache's keys: the same Redis holds presence, the fan-out and the Celery broker, which
Django's FLUSHDB would wipe."""
import functools

from django.conf import settings
from django.core.cache.backends.redis import RedisCache, RedisCacheClient


@functools.cache
def _sentinel_master():
    from redis.sentinel import Sentinel

    cfg = settings.REDIS
    timeouts = {"socket_timeout": 2.0, "socket_connect_timeout": 2.0}
    sentinel_kwargs = {"password": cfg.password, **timeouts} if cfg.password else dict(timeouts)
    sentinel = Sentinel(list(cfg.sentinels), sentinel_kwargs=sentinel_kwargs, **timeouts)
    return sentinel.master_for(cfg.master_name, db=cfg.db, password=cfg.password, **timeouts)


class _SentinelClient(RedisCacheClient):
    def get_client(self, key=None, *, write=False):
        return _sentinel_master()


class SharedRedisCache(RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        if settings.REDIS.uses_sentinel:
            self._class = _SentinelClient

    def clear(self):
        client = self._cache.get_client(write=True)
        pattern = self.make_key("*")
        for batch in _batches(client.scan_iter(match=pattern, count=1000), 500):
            client.delete(*batch)
        return True


def _batches(items, size: int):
    batch = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch

"""Where Redis is: Sentinel (REDIS_SENTINELS + REDIS_MASTER_NAME), a plain URL (REDIS_URL), or none.

With none, the process runs embedded: in-memory channel layer, in-process presence, eager Celery.
"""
from dataclasses import dataclass
from urllib.parse import urlparse

from django.core.exceptions import ImproperlyConfigured

from config.env import env_float, env_int, env_list, env_str


@dataclass(frozen=True)
class RedisConfig:
    url: str | None
    sentinels: tuple[tuple[str, int], ...]
    master_name: str | None
    db: int
    password: str | None

    @property
    def configured(self) -> bool:
        return bool(self.url or self.sentinels)

    @property
    def uses_sentinel(self) -> bool:
        return bool(self.sentinels)


def _parse_sentinel(item: str) -> tuple[str, int]:
    host, _, port = item.rpartition(":")
    if not host or not port.isdigit():
        raise ImproperlyConfigured(f"REDIS_SENTINELS entries are host:port, got {item!r}")
    return host, int(port)


def load_redis_config() -> RedisConfig:
    sentinels = tuple(_parse_sentinel(s) for s in env_list("REDIS_SENTINELS"))
    master_name = env_str("REDIS_MASTER_NAME", "mymaster" if sentinels else None)
    url = env_str("REDIS_URL")
    db = env_int("REDIS_DB", 0)
    password = env_str("REDIS_PASSWORD")
    if url:
        parsed = urlparse(url)
        if parsed.scheme not in {"redis", "rediss"}:
            raise ImproperlyConfigured(f"REDIS_URL must be redis:// or rediss://, got {url!r}")
        if parsed.path.strip("/").isdigit():
            db = int(parsed.path.strip("/"))
        password = password or parsed.password
    return RedisConfig(url=url, sentinels=sentinels, master_name=master_name, db=db, password=password)


def _host_entry(cfg: RedisConfig, max_connections: int) -> dict:
    """One channels-redis `hosts` entry; the pool is sized on purpose (the default 100 runs out
    past ~100 sockets per process because every receive holds a connection)."""
    common = {
        "db": cfg.db,
        "max_connections": max_connections,
        # channels-redis receives with a blocking BZPOPMIN of 5 s; redis-py (>= 8) reads with a
        # default socket_timeout of 5 s too, so every idle receive raced its own timeout, raised
        # TimeoutError and the consumer closed idle sockets with 1012. Reads get longer than the
        # blocking pop; a dead or unreachable master is still noticed within that bound.
        "socket_timeout": env_float("CHANNEL_LAYER_SOCKET_TIMEOUT", 10.0),
        "socket_connect_timeout": env_float("CHANNEL_LAYER_CONNECT_TIMEOUT", 2.0),
        "socket_keepalive": True,
    }
    if cfg.password:
        common["password"] = cfg.password
    if cfg.uses_sentinel:
        sentinel_kwargs = {"socket_timeout": 1.0, "socket_connect_timeout": 1.0}
        if cfg.password:
            sentinel_kwargs["password"] = cfg.password
        return {"sentinels": list(cfg.sentinels), "master_name": cfg.master_name,
                "sentinel_kwargs": sentinel_kwargs, **common}
    return {"address": cfg.url, **common}


def channel_layers(cfg: RedisConfig, *, backend: str, prefix: str) -> dict:
    """CHANNEL_LAYERS: channels-redis `core` (the default) or `pubsub` on the configured Redis,
    in-memory when there is none (the embedded product)."""
    if not cfg.configured:
        return {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer",
                            "CONFIG": {"capacity": 1000, "expiry": 30}}}
    hosts = [_host_entry(cfg, env_int("CHANNEL_LAYER_POOL_SIZE", 1000))]
    if backend == "pubsub":
        return {"default": {"BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
                            "CONFIG": {"hosts": hosts, "prefix": prefix}}}
    return {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                "hosts": hosts,
                "prefix": prefix,
                # A socket that falls 500 events behind is too slow to serve live; it will
                # recover by seq gap + sync_request, so dropping beats unbounded Redis memory.
                # Mind: in Redis this bound is per *process*, not per socket: every socket of a
                # Daphne process shares one queue key (`specific.<process>!`), a group_send
                # puts one entry there for all its local members, and entries past 500 are
                # dropped for all of them. One Daphne reading ~200 group events/s has ~2.5 s
                # of slack before that (measured: docs/bench/realtime.md).
                "capacity": env_int("CHANNEL_LAYER_CAPACITY", 500),
                # Undelivered events older than this are useless: the client syncs instead.
                "expiry": env_int("CHANNEL_LAYER_EXPIRY", 30),
                "group_expiry": env_int("CHANNEL_LAYER_GROUP_EXPIRY", 86400),
            },
        }
    }


def celery_broker(cfg: RedisConfig) -> tuple[str, dict]:
    """(CELERY_BROKER_URL, CELERY_BROKER_TRANSPORT_OPTIONS): Sentinel, the Redis URL, or in-memory."""
    if cfg.uses_sentinel:
        url = ";".join(f"sentinel://{h}:{p}/{cfg.db}" for h, p in cfg.sentinels)
        return url, {"master_name": cfg.master_name}
    if cfg.configured:
        return cfg.url, {}
    return "memory://", {}

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


def celery_broker(cfg: RedisConfig) -> tuple[str, dict]:
    """(CELERY_BROKER_URL, CELERY_BROKER_TRANSPORT_OPTIONS): Sentinel, the Redis URL, or in-memory."""
    if cfg.uses_sentinel:
        url = ";".join(f"sentinel://{h}:{p}/{cfg.db}" for h, p in cfg.sentinels)
        return url, {"master_name": cfg.master_name}
    if cfg.configured:
        return cfg.url, {}
    return "memory://", {}

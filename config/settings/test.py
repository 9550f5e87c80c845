"""Tests run on the real PostgreSQL and the real Redis (addresses from the environment)."""
import os
import uuid

import dj_database_url

from config.env import env_str, postgres_url_from_pg_env

os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/0")
# A unique prefix per test session keeps parallel runs and other users of the Redis apart.
os.environ.setdefault("REDIS_KEY_PREFIX", f"chat-test-{uuid.uuid4().hex[:8]}")

from config.settings.base import *  # noqa: E402,F401,F403

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", postgres_url_from_pg_env("postgres")), conn_max_age=0
    )
}
DATABASES["default"]["TEST"] = {"NAME": env_str("CHAT_TEST_DB", "test_chat")}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CELERY_TASK_ALWAYS_EAGER = True

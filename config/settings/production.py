"""Production: refuses to start without a secret, hosts, PostgreSQL and Redis."""
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_str
from config.settings.base import *  # noqa: F401,F403
from config.settings.base import ALLOWED_HOSTS, DATABASES, REDIS

if not env_str("SECRET_KEY"):
    raise ImproperlyConfigured("SECRET_KEY must be set in production")
if not env_str("ALLOWED_HOSTS") or not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must be set in production")
if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    raise ImproperlyConfigured("production needs PostgreSQL: set DATABASE_URL=postgres://...")
if not REDIS.configured:
    raise ImproperlyConfigured("production needs Redis: set REDIS_SENTINELS + REDIS_MASTER_NAME or REDIS_URL")

DEBUG = False
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", True)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", True)

"""Production: refuses to start without a secret, hosts, PostgreSQL and Redis."""
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_int, env_str
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
# /metrics is for the cluster's Prometheus: without METRICS_TOKEN it answers nobody (404).
METRICS_REQUIRE_TOKEN = True
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# HTTPS only, as the ingress reports it (X-Forwarded-Proto). Probes and Prometheus reach the
# pods over plain HTTP inside the cluster: those paths are never redirected.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 365 * 24 * 3600)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", True)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", True)

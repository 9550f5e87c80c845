"""Settings shared by every environment; each value that differs per deployment comes from the env."""
from pathlib import Path

import dj_database_url

from config.env import env_bool, env_float, env_int, env_int_list, env_list, env_str
from config import service_worker
from config.redis_config import celery_broker, load_redis_config

BASE_DIR = Path(__file__).resolve().parents[2]
VAR_DIR = Path(env_str("CHAT_VAR_DIR", str(BASE_DIR / "var")))
FRONTEND_DIST = Path(env_str("FRONTEND_DIST", str(BASE_DIR / "frontend" / "dist")))

SECRET_KEY = env_str("SECRET_KEY", "dev-insecure-secret-key-change-me")
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
# Origins a cookie-authenticated WebSocket may come from (token sockets carry their own proof).
WS_ALLOWED_ORIGINS = env_list("WS_ALLOWED_ORIGINS")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.staticfiles",
    "rest_framework",
    "knox",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "csp",
    "channels",
    "chat",
    "apps.api",
    "apps.ws",
    "apps.ops",
]

MIDDLEWARE = [
    "apps.api.middleware.RequestMetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Before WhiteNoise: the files it serves (the SPA's index.html, assets) get the headers too.
    "config.security.SecurityHeadersMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]

# --- Browser headers (config/security.py) -------------------------------------------------------
# Scripts, frames, objects: this origin only, nothing inline. Styles allow 'unsafe-inline': the
# web app's component library (antd) injects its CSS-in-JS as <style> elements at run time.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", "blob:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],  # + the app's own ws(s):// origin, per request
        "worker-src": ["'self'"],
        "manifest-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# /metrics: with a token set, only `Authorization: Bearer <METRICS_TOKEN>` is answered (the
# cluster's Prometheus); without one it is open here (embedded, tests) and closed in production.
METRICS_TOKEN = env_str("METRICS_TOKEN")
METRICS_REQUIRE_TOKEN = False

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": ["django.template.context_processors.request"]},
    }
]

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'chat.sqlite3'}"),
        conn_max_age=env_int("DB_CONN_MAX_AGE", 600),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # A database that does not answer fails a request in seconds (503, apps/api/errors.py), not
    # after the driver's default wait.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", env_int("DB_CONNECT_TIMEOUT", 5))
# Threads (each with its PostgreSQL connection) that run a ws process's other domain calls: the
# token and rooms of each connect, receipts, edits (apps/ws/db.py).
CHAT_WS_DB_THREADS = env_int("CHAT_WS_DB_THREADS", 6)
# A ws process's event loop that runs nothing for this long is logged with the stack that held
# it (apps/ws/loop_watch.py; 0: lag measured, stalls not watched).
CHAT_WS_LOOP_STALL_SECONDS = env_float("CHAT_WS_LOOP_STALL_SECONDS", 0.1)
# The ws process's garbage collector thresholds, "gen0,gen1,gen2" (apps/ws/runtime.py says why
# they are above Python's 700,10,10).
CHAT_WS_GC_THRESHOLDS = env_int_list("CHAT_WS_GC_THRESHOLDS", [20000, 10, 10], length=3)
# The ws process writes sends on an asyncio pool of its own (chat/async_db.py; 0 turns it off:
# sends then go through the thread pool like every other call). A send waits at most
# CHAT_ASYNC_DB_WAIT_SECONDS for a pooled connection (then it alone takes the thread path); when a
# pooled connection fails, sends take the thread path for CHAT_ASYNC_DB_BACKOFF_SECONDS while the
# pool reconnects. A pool with no free connection
# while statements are under way is busy, not failing: the send waits up to
# CHAT_ASYNC_DB_BUSY_WAIT_SECONDS more. The pool opens all its connections at the first socket.
CHAT_ASYNC_DB_POOL_SIZE = env_int("CHAT_ASYNC_DB_POOL_SIZE", 4)
CHAT_ASYNC_DB_WAIT_SECONDS = env_float("CHAT_ASYNC_DB_WAIT_SECONDS", 0.5)
CHAT_ASYNC_DB_BUSY_WAIT_SECONDS = env_float("CHAT_ASYNC_DB_BUSY_WAIT_SECONDS", 5.0)
CHAT_ASYNC_DB_BACKOFF_SECONDS = env_float("CHAT_ASYNC_DB_BACKOFF_SECONDS", 5.0)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "accounts.passwords.VisibleCharactersValidator"},
]

STATIC_URL = "/static/"
# The built SPA is served from the site root (index.html, /assets/...) by WhiteNoise.
WHITENOISE_ROOT = FRONTEND_DIST if FRONTEND_DIST.exists() else None
WHITENOISE_INDEX_FILE = True
# /sw.js (the web app's service worker, in the SPA's root): scope / and never cached stale.
WHITENOISE_ADD_HEADERS_FUNCTION = service_worker.add_headers
# Static files (the API docs' Swagger UI) straight from the apps: no collectstatic step to forget.
WHITENOISE_USE_FINDERS = True

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "apps.api.authentication.SessionTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["apps.api.renderers.UnicodeJSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["apps.api.parsers.BoundedJSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "apps.api.errors.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Chat platform API",
    "DESCRIPTION": "Rooms, cursor-paged history, idempotent sends, receipts. See docs/api.md.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI served from this server (drf-spectacular-sidecar), not from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
}

# --- Chat product limits -------------------------------------------------------------------
CHAT_MAX_CONTENT_CODE_POINTS = env_int("CHAT_MAX_CONTENT_CODE_POINTS", 10_000)
CHAT_PAGE_DEFAULT = 50
CHAT_PAGE_MAX = 100
CHAT_SYNC_PAGE_SIZE = env_int("CHAT_SYNC_PAGE_SIZE", 200)
CHAT_SYNC_RESET_AFTER = env_int("CHAT_SYNC_RESET_AFTER", 1000)
CHAT_TOKEN_TTL_SECONDS = env_int("CHAT_TOKEN_TTL_SECONDS", 30 * 24 * 3600)
# Tokens: django-rest-knox storage (digests only), one per login, issued by accounts.tokens.
REST_KNOX = {"AUTH_HEADER_PREFIX": "Token", "TOKEN_LIMIT_PER_USER": None, "AUTO_REFRESH": False}
CHAT_TYPING_TTL_SECONDS = env_float("CHAT_TYPING_TTL_SECONDS", 6.0)
CHAT_PRESENCE_TTL_SECONDS = env_int("CHAT_PRESENCE_TTL_SECONDS", 15)
CHAT_PRESENCE_HEARTBEAT_SECONDS = env_float("CHAT_PRESENCE_HEARTBEAT_SECONDS", 5.0)
CHAT_WS_MAX_FRAME_BYTES = env_int("CHAT_WS_MAX_FRAME_BYTES", 64 * 1024)
CHAT_WS_RATE_PER_SECOND = env_float("CHAT_WS_RATE_PER_SECOND", 20.0)
CHAT_WS_RATE_BURST = env_int("CHAT_WS_RATE_BURST", 60)
# --- Hardening (issue 8): input bounds, caps, throttles --------------------------------------
# JSON nesting allowed in a request body or a frame (no contract payload nests past 3).
CHAT_JSON_MAX_DEPTH = env_int("CHAT_JSON_MAX_DEPTH", 32)
# Open sockets per user over every ws process (counted in Redis presence); more close with 4029.
CHAT_WS_MAX_SOCKETS_PER_USER = env_int("CHAT_WS_MAX_SOCKETS_PER_USER", 20)
# Request bodies past this are answered 413 (the largest message is 10,000 code points).
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 1024 * 1024)
# Throttles (apps/api/throttles.py), DRF rate strings by scope; HTTP sends use the socket's
# budget (CHAT_WS_RATE_PER_SECOND / CHAT_WS_RATE_BURST).
CHAT_THROTTLE_RATES = {
    "login_username": env_str("CHAT_THROTTLE_LOGIN_USERNAME", "10/min"),
    "login_address": env_str("CHAT_THROTTLE_LOGIN_ADDRESS", "30/min"),
    "register_address": env_str("CHAT_THROTTLE_REGISTER_ADDRESS", "10/hour"),
    "user_search": env_str("CHAT_THROTTLE_USER_SEARCH", "60/min"),
}
# Proxies (CIDRs) whose X-Forwarded-For names the client; none: the peer address is the client.
TRUSTED_PROXIES = env_list("TRUSTED_PROXIES")
CHAT_RECEIPT_COALESCE_SECONDS = env_float("CHAT_RECEIPT_COALESCE_SECONDS", 0.25)
# Fan-out (apps/ws/hub.py): repair from PostgreSQL up to this many changed messages, else resync;
# quiet rooms compared with PostgreSQL this often; a silent subscription probed after this long.
CHAT_FANOUT_REPAIR_LIMIT = env_int("CHAT_FANOUT_REPAIR_LIMIT", 500)
CHAT_FANOUT_CHECK_SECONDS = env_float("CHAT_FANOUT_CHECK_SECONDS", 15.0)
# A position check that finds PostgreSQL ahead waits this long for the publications in flight
# before it repairs (apps/ws/hub.py).
CHAT_FANOUT_CHECK_GRACE_SECONDS = env_float("CHAT_FANOUT_CHECK_GRACE_SECONDS", 0.5)
# A publication that skips a change waits this long for the missing one (publications from two
# processes into one room can cross in Redis) before the gap is repaired from PostgreSQL.
CHAT_FANOUT_REORDER_GRACE_SECONDS = env_float("CHAT_FANOUT_REORDER_GRACE_SECONDS", 0.05)
# A sender's message_confirmed waits up to this long for the room's messages before it to be
# written to its socket (another member's message in flight, a repair after an outage).
CHAT_CONFIRM_ORDER_WAIT_SECONDS = env_float("CHAT_CONFIRM_ORDER_WAIT_SECONDS", 5.0)
CHAT_FANOUT_PROBE_SECONDS = env_float("CHAT_FANOUT_PROBE_SECONDS", 3.0)
CHAT_FANOUT_PROBE_TIMEOUT_SECONDS = env_float("CHAT_FANOUT_PROBE_TIMEOUT_SECONDS", 2.0)
# A socket that does not read: past the soft bound of bytes waiting in its send buffer typing
# and presence are dropped for it; past the hard bound it is closed with 1013 (reconnect + sync).
CHAT_WS_SEND_BUFFER_SOFT = env_int("CHAT_WS_SEND_BUFFER_SOFT", 64 * 1024)
CHAT_WS_SEND_BUFFER_HARD = env_int("CHAT_WS_SEND_BUFFER_HARD", 1024 * 1024)

# --- Redis: the fan-out's pub/sub, presence, the Celery broker (config/redis_config.py) ------
# No Channels channel layer: sockets get room and user events from apps/ws/hub.py.
REDIS = load_redis_config()
REDIS_KEY_PREFIX = env_str("REDIS_KEY_PREFIX", "chat")  # keys and pub/sub channels of this deployment

# --- Cache: throttle counters, shared by every process (config/cache.py) ----------------------
if REDIS.configured:
    CACHES = {"default": {"BACKEND": "config.cache.SharedRedisCache",
                          "LOCATION": REDIS.url or "redis://sentinel",  # Sentinel: resolved by the backend
                          "KEY_PREFIX": f"{REDIS_KEY_PREFIX}:cache"}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Celery worker and Web Push (apps/worker, docs/operations.md "Worker") -------------------
INSTALLED_APPS += ["apps.worker"]
_CELERY_TRANSPORT = {
    # Every broker key carries the deployment's prefix, like the channel layer and presence.
    "global_keyprefix": f"{REDIS_KEY_PREFIX}:celery:",
    # acks_late: a task stays in Redis's unacked set until it finishes; a worker that dies
    # (SIGKILL, OOM, node loss) has its task handed to another after this many seconds. Longer
    # than any task runs (a push request times out after CHAT_PUSH_TIMEOUT_SECONDS, retries wait
    # in countdowns capped below it), short enough that a killed worker delays a notification by
    # minutes, not the kombu default hour. A redelivered task is harmless: PostgreSQL's
    # notification ledger makes it a no-op.
    "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 300),
    "unacked_restore_interval": env_int("CELERY_UNACKED_RESTORE_INTERVAL", 10),
    "unacked_restore_throttle": 1,
    # A broker that vanishes mid-failover must not hang a send (the enqueue runs after commit).
    "socket_timeout": 2.0,
    "socket_connect_timeout": 2.0,
    "socket_keepalive": True,
}
if REDIS.uses_sentinel:
    _auth = f":{REDIS.password}@" if REDIS.password else ""
    CELERY_BROKER_URL = ";".join(f"sentinel://{_auth}{h}:{p}/{REDIS.db}" for h, p in REDIS.sentinels)
    CELERY_BROKER_TRANSPORT_OPTIONS = {"master_name": REDIS.master_name, **_CELERY_TRANSPORT,
                                       "sentinel_kwargs": {"password": REDIS.password} if REDIS.password else {}}
elif REDIS.configured:
    CELERY_BROKER_URL = REDIS.url
    CELERY_BROKER_TRANSPORT_OPTIONS = dict(_CELERY_TRANSPORT)
else:
    CELERY_BROKER_URL = "memory://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {}
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", not REDIS.configured)
# Embedded (no Redis): eager tasks run on one background thread, not inside the sender's request.
CHAT_NOTIFY_IN_THREAD = env_bool("CHAT_NOTIFY_IN_THREAD", not REDIS.configured)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "chat.default"
CELERY_TASK_ROUTES = {"chat.notify_*": {"queue": "chat.notifications"},
                      "chat.push_*": {"queue": "chat.notifications"}}
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Threads, not prefork: the work is waiting on PostgreSQL and push services, and the metrics
# live in one process that serves them.
CELERY_WORKER_POOL = env_str("CELERY_WORKER_POOL", "threads")
CELERY_WORKER_CONCURRENCY = env_int("CELERY_WORKER_CONCURRENCY", 16)
# SIGTERM (remapped to a cold shutdown by config/launch.py: REMAP_SIGTERM=SIGQUIT) waits this long for running
# tasks, then cancels them; acks_late puts them back in the queue for another worker.
CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT = env_float("CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT", 20.0)
CELERY_WORKER_ENABLE_SOFT_SHUTDOWN_ON_IDLE = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_WORKER_SEND_TASK_EVENTS = False
CHAT_WORKER_METRICS_PORT = env_int("CHAT_WORKER_METRICS_PORT", 9808)
# VAPID: the base64url raw private key (`python -m chat.webpush` / docs/operations.md).
VAPID_PRIVATE_KEY = env_str("VAPID_PRIVATE_KEY", "")
# Without VAPID_PRIVATE_KEY, make a dev pair once into VAR_DIR (the embedded `make run`: dev.py
# turns it on); never in production, where a worker without a key refuses to start.
CHAT_PUSH_DEV_KEYS = env_bool("CHAT_PUSH_DEV_KEYS", DEBUG)
VAPID_SUBJECT = env_str("VAPID_SUBJECT", "mailto:ops@chat.invalid")
CHAT_PUSH_TIMEOUT_SECONDS = env_float("CHAT_PUSH_TIMEOUT_SECONDS", 10.0)
CHAT_PUSH_COALESCE_SECONDS = env_float("CHAT_PUSH_COALESCE_SECONDS", 0.5)
# A process gathers the messages it stores for this long (or this many) and queues one
# notification task per batch (apps/worker/queueing.py); the wait is part of the coalescing.
CHAT_NOTIFY_BATCH_SECONDS = env_float("CHAT_NOTIFY_BATCH_SECONDS", 0.1)
CHAT_NOTIFY_BATCH_LIMIT = env_int("CHAT_NOTIFY_BATCH_LIMIT", 200)
# Push requests one task has in flight at once (its rows are claimed this many at a time): the
# work is waiting on push services. A worker killed mid-task sends at most these again.
CHAT_PUSH_CONCURRENCY = env_int("CHAT_PUSH_CONCURRENCY", 32)
CHAT_PUSH_MAX_ATTEMPTS = env_int("CHAT_PUSH_MAX_ATTEMPTS", 8)
CHAT_PUSH_TTL_SECONDS = env_int("CHAT_PUSH_TTL_SECONDS", 24 * 3600)
# Subscription endpoints must be https unless this is on (dev and tests push to local http).
CHAT_PUSH_ALLOW_HTTP = env_bool("CHAT_PUSH_ALLOW_HTTP", DEBUG)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.channels.server": {"level": env_str("ACCESS_LOG_LEVEL", "WARNING")}},
}

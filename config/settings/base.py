"""Settings shared by every environment; each value that differs per deployment comes from the env."""
from pathlib import Path

import dj_database_url

from config.env import env_bool, env_float, env_int, env_list, env_str
from config.redis_config import celery_broker, channel_layers, load_redis_config

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
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "chat",
    "apps.api",
    "apps.ws",
]

MIDDLEWARE = [
    "apps.api.middleware.RequestMetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]

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
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

STATIC_URL = "/static/"
# The built SPA is served from the site root (index.html, /assets/...) by WhiteNoise.
WHITENOISE_ROOT = FRONTEND_DIST if FRONTEND_DIST.exists() else None
WHITENOISE_INDEX_FILE = True
# Static files (the API docs' Swagger UI) straight from the apps: no collectstatic step to forget.
WHITENOISE_USE_FINDERS = True

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "apps.api.authentication.ExpiringTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["apps.api.renderers.UnicodeJSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
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
CHAT_TYPING_TTL_SECONDS = env_float("CHAT_TYPING_TTL_SECONDS", 6.0)
CHAT_PRESENCE_TTL_SECONDS = env_int("CHAT_PRESENCE_TTL_SECONDS", 15)
CHAT_PRESENCE_HEARTBEAT_SECONDS = env_float("CHAT_PRESENCE_HEARTBEAT_SECONDS", 5.0)
CHAT_WS_MAX_FRAME_BYTES = env_int("CHAT_WS_MAX_FRAME_BYTES", 64 * 1024)
CHAT_WS_RATE_PER_SECOND = env_float("CHAT_WS_RATE_PER_SECOND", 20.0)
CHAT_WS_RATE_BURST = env_int("CHAT_WS_RATE_BURST", 60)
CHAT_RECEIPT_COALESCE_SECONDS = env_float("CHAT_RECEIPT_COALESCE_SECONDS", 0.25)

# --- Redis: channel layer, presence, Celery broker (built in config/redis_config.py) -------
REDIS = load_redis_config()
CHANNEL_LAYER_PREFIX = env_str("CHANNEL_LAYER_PREFIX", "chat")
REDIS_KEY_PREFIX = env_str("REDIS_KEY_PREFIX", "chat")
CHANNEL_LAYER_BACKEND = env_str("CHANNEL_LAYER_BACKEND", "core")
CHANNEL_LAYERS = channel_layers(REDIS, backend=CHANNEL_LAYER_BACKEND, prefix=CHANNEL_LAYER_PREFIX)

# --- Celery ---------------------------------------------------------------------------------
CELERY_BROKER_URL, CELERY_BROKER_TRANSPORT_OPTIONS = celery_broker(REDIS)
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", not REDIS.configured)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.channels.server": {"level": env_str("ACCESS_LOG_LEVEL", "WARNING")}},
}

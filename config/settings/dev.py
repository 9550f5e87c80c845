"""The embedded default: SQLite unless DATABASE_URL says otherwise, no Redis unless configured.

DEBUG stays off (DEBUG=1 turns it on for a developer): a newcomer's `make run` shows the errors
a user would see, never Django's debug pages with the URL patterns or a traceback. The SPA and
static files are still served (WhiteNoise, with the apps' static files found in place:
WHITENOISE_USE_FINDERS in base). No proxy is trusted (TRUSTED_PROXIES empty in base).
"""
from config.env import env_bool
from config.settings.base import *  # noqa: F401,F403
from config.settings.base import VAR_DIR

DEBUG = env_bool("DEBUG", False)
# Notifications work in `make run` out of the box: a VAPID pair made once into the data folder.
CHAT_PUSH_DEV_KEYS = env_bool("CHAT_PUSH_DEV_KEYS", True)
VAR_DIR.mkdir(parents=True, exist_ok=True)

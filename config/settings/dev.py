"""The embedded default: SQLite unless DATABASE_URL says otherwise, no Redis unless configured."""
from config.settings.base import *  # noqa: F401,F403
from config.settings.base import VAR_DIR

DEBUG = True
VAR_DIR.mkdir(parents=True, exist_ok=True)

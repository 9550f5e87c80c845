"""The pytest test database as a DATABASE_URL, for the server processes a test starts (valid
inside a django_db test, once pytest-django has created it)."""
from urllib.parse import quote

from django.conf import settings


def child_database_url() -> str:
    db = settings.DATABASES["default"]
    auth = quote(db.get("USER") or "postgres", safe="")
    if db.get("PASSWORD"):
        auth += ":" + quote(db["PASSWORD"], safe="")
    return f"postgres://{auth}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"

"""Readiness checks of the stores this process depends on."""
from django.db import connection

from chat.redis_client import sync_client


def database_ok() -> tuple[bool, str]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True, "ok"
    except Exception as exc:  # noqa: BLE001 - any failure means not ready
        return False, type(exc).__name__


def redis_ok() -> tuple[bool, str]:
    client = sync_client()
    if client is None:
        return True, "not configured"
    try:
        client.ping()
        return True, "ok"
    except Exception as exc:  # noqa: BLE001
        return False, type(exc).__name__

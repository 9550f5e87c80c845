"""Reading configuration from the environment: one place, typed helpers, clear errors."""
import os

from django.core.exceptions import ImproperlyConfigured


def env_str(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return default if value in (None, "") else value


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value in (None, ""):
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, got {value!r}") from exc


def env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    if value in (None, ""):
        return default
    try:
        return float(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be a number, got {value!r}") from exc


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value in (None, ""):
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: list[str] | None = None) -> list[str]:
    value = os.environ.get(name)
    if value in (None, ""):
        return list(default or [])
    return [item.strip() for item in value.split(",") if item.strip()]


def env_int_list(name: str, default: list[int], length: int) -> list[int]:
    """`length` whole numbers >= 0, comma-separated."""
    items = env_list(name, [str(n) for n in default])
    if len(items) != length or not all(item.isdigit() for item in items):
        raise ImproperlyConfigured(f"{name} must be {length} whole numbers separated by commas, got "
                                   f"{os.environ.get(name)!r}")
    return [int(item) for item in items]


def postgres_url_from_pg_env(database: str) -> str:
    """A DATABASE_URL built from the libpq variables (PGHOST, PGPORT, PGUSER, PGPASSWORD)."""
    host = os.environ.get("PGHOST", "127.0.0.1")
    port = os.environ.get("PGPORT", "5432")
    user = os.environ.get("PGUSER", "postgres")
    password = os.environ.get("PGPASSWORD", "")
    auth = f"{user}:{password}" if password else user
    return f"postgres://{auth}@{host}:{port}/{database}"

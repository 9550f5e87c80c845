"""The process's own metrics, on every process (api, ws, worker): which build it runs, how its
database and Redis clients fare, and trace-id exemplars on latency histograms.

Gauges name their multiprocess mode, so an api pod under gunicorn (prometheus-client's
multiprocess mode) reports one value per pod, not one per worker. Labels are bounded: the error
classes, two dependencies, two pools and two states.
"""
import importlib.metadata
import os
import subprocess
import time
from pathlib import Path

from django.db import utils as db_utils
from django.db.backends.signals import connection_created
from prometheus_client import Counter, Gauge

from chat import tracing

BUILD_INFO = Gauge("chat_build_info", "The running build (always 1)", ["version", "commit"],
                   multiprocess_mode="livemax")
DB_ERRORS = Counter("chat_db_errors_total", "Database statements that failed, by Django error class", ["error"])
DB_CONNECTIONS_OPENED = Counter("chat_db_connections_opened_total", "Database connections opened")
DEPENDENCY_UP = Gauge("chat_dependency_up", "The last readiness check reached the dependency (1) or not (0)",
                      ["dependency"], multiprocess_mode="livemostrecent")
REDIS_POOL_CONNECTIONS = Gauge("chat_redis_pool_connections", "Connections of the process's redis-py pools",
                               ["pool", "state"], multiprocess_mode="livesum")
REDIS_POOL_MAX = Gauge("chat_redis_pool_max_connections", "The bound of each redis-py pool", ["pool"],
                       multiprocess_mode="livesum")

# Most specific first: the label is the first of these the error is an instance of.
_DB_ERROR_CLASSES = (db_utils.IntegrityError, db_utils.OperationalError, db_utils.InterfaceError,
                     db_utils.DataError, db_utils.ProgrammingError, db_utils.InternalError,
                     db_utils.NotSupportedError, db_utils.DatabaseError)
_POOL_SAMPLE_EVERY = 1.0  # seconds; sampling is a few len() calls, but not on every request
_last_pool_sample = 0.0


def start() -> None:
    """Once per process (the chat app's ready()): build info and the database hooks."""
    BUILD_INFO.labels(version=_version(), commit=_commit()).set(1)
    connection_created.connect(_on_connection_created, dispatch_uid="chat.telemetry")


def _version() -> str:
    try:
        return importlib.metadata.version("chat-platform")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _commit() -> str:
    if os.environ.get("GIT_COMMIT"):
        return os.environ["GIT_COMMIT"][:12]
    try:
        result = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], capture_output=True, text=True,
                                timeout=2, cwd=Path(__file__).resolve().parent)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return result.stdout.strip() if result.returncode == 0 and result.stdout.strip() else "unknown"


def _on_connection_created(sender, connection, **kwargs) -> None:
    DB_CONNECTIONS_OPENED.inc()
    # The wrapper list belongs to Django's per-thread connection object, which outlives the
    # database connections it opens: add it once.
    if _count_db_errors not in connection.execute_wrappers:
        connection.execute_wrappers.append(_count_db_errors)


def _count_db_errors(execute, sql, params, many, context):
    try:
        return execute(sql, params, many, context)
    except db_utils.DatabaseError as exc:
        DB_ERRORS.labels(next(c.__name__ for c in _DB_ERROR_CLASSES if isinstance(exc, c))).inc()
        raise


def record_dependency(name: str, up: bool) -> None:
    DEPENDENCY_UP.labels(name).set(1 if up else 0)


# --- Redis pools ---------------------------------------------------------------------------------

def sample_pools(force: bool = False) -> None:
    """Set the pool gauges from the pools this process has opened (none are opened for it)."""
    global _last_pool_sample
    now = time.monotonic()
    if not force and now - _last_pool_sample < _POOL_SAMPLE_EVERY:
        return
    _last_pool_sample = now
    for name, pools in (("client", _client_pools()),):
        idle = used = bound = 0
        for pool in pools:
            # redis-py's own count: [(idle, {...}), (used, {...})]
            counts = pool.get_connection_count()
            idle, used = idle + counts[0][0], used + counts[1][0]
            bound += pool.max_connections
        REDIS_POOL_CONNECTIONS.labels(name, "idle").set(idle)
        REDIS_POOL_CONNECTIONS.labels(name, "used").set(used)
        REDIS_POOL_MAX.labels(name).set(bound)


def _client_pools() -> list:
    from chat import redis_client

    if redis_client.sync_client.cache_info().currsize == 0:
        return []
    client = redis_client.sync_client()
    return [client.connection_pool] if client is not None else []


# --- exemplars -----------------------------------------------------------------------------------

def observe(histogram, value: float) -> None:
    """Observe with the current trace id as the exemplar (shown by OpenMetrics scrapes)."""
    trace_id = tracing.current_trace_id()
    histogram.observe(value, exemplar={"trace_id": trace_id} if trace_id else None)

"""Liveness, readiness and Prometheus metrics, served by every process (api and ws)."""
import os

from django.http import HttpResponse, JsonResponse
from prometheus_client import REGISTRY, CollectorRegistry
from prometheus_client.exposition import choose_encoder

from chat import health, telemetry


def healthz(request):
    return JsonResponse({"status": "ok"})


def readyz(request):
    db_ok, db_state = health.database_ok()
    redis_ok, redis_state = health.redis_ok()
    ready = db_ok and redis_ok
    telemetry.record_dependency("database", db_ok)
    telemetry.record_dependency("redis", redis_ok)
    return JsonResponse({"status": "ok" if ready else "unavailable", "database": db_state, "redis": redis_state},
                        status=200 if ready else 503)


def metrics(request):
    """This process's metrics, or under gunicorn every worker's summed (multiprocess mode); in
    the OpenMetrics format (with exemplars) when the scraper asks for it."""
    telemetry.sample_pools(force=True)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    encode, content_type = choose_encoder(request.headers.get("Accept", ""))
    return HttpResponse(encode(registry), content_type=content_type)

"""Liveness, readiness and Prometheus metrics, served by every process (api and ws)."""
import os

from django.http import HttpResponse, JsonResponse
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest

from chat import health

# Set by a ws process on SIGTERM (apps.ws.process): it is draining, send nothing new here.
_draining = False


def start_draining() -> None:
    global _draining
    _draining = True


def healthz(request):
    return JsonResponse({"status": "ok"})


def readyz(request):
    if _draining:
        return JsonResponse({"status": "draining"}, status=503)
    db_ok, db_state = health.database_ok()
    redis_ok, redis_state = health.redis_ok()
    ready = db_ok and redis_ok
    return JsonResponse({"status": "ok" if ready else "unavailable", "database": db_state, "redis": redis_state},
                        status=200 if ready else 503)


def metrics(request):
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)

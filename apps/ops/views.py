"""Liveness, readiness and Prometheus metrics, served by every process (api and ws), and the
browser's RUM beacon (`POST /api/rum/`)."""
import hmac
import os

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from prometheus_client import REGISTRY, CollectorRegistry, multiprocess
from prometheus_client.exposition import choose_encoder
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.ops import health, rum
from apps.ops.serializers import RumBeaconSerializer
from chat import telemetry
from chat.errors import InvalidInput
from config import draining
from chat.text import refuse_lone_surrogates


def healthz(request):
    return JsonResponse({"status": "ok"})


def readyz(request):
    if draining.active():  # a ws process after SIGTERM: out of rotation, whatever else holds
        return JsonResponse({"status": "draining"}, status=503)
    db_ok, db_state = health.database_ok()
    redis_ok, redis_state = health.redis_ok()
    ready = db_ok and redis_ok
    telemetry.record_dependency("database", db_ok)
    telemetry.record_dependency("redis", redis_ok)
    return JsonResponse({"status": "ok" if ready else "unavailable", "database": db_state, "redis": redis_state},
                        status=200 if ready else 503)


def _metrics_allowed(request) -> bool:
    """With METRICS_TOKEN set, only its bearer (the cluster's Prometheus); without one, everyone
    where METRICS_REQUIRE_TOKEN is off (embedded, tests) and nobody in production."""
    token = settings.METRICS_TOKEN
    if not token:
        return not settings.METRICS_REQUIRE_TOKEN
    return hmac.compare_digest(request.META.get("HTTP_AUTHORIZATION", "").encode(), f"Bearer {token}".encode())


def metrics(request):
    """This process's metrics, or under gunicorn every worker's summed (multiprocess mode); in
    the OpenMetrics format (with exemplars) when the scraper asks for it."""
    if not _metrics_allowed(request):
        return JsonResponse({"detail": "not found", "errors": {}}, status=404)  # no hint it exists
    telemetry.sample_pools(force=True)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    encode, content_type = choose_encoder(request.headers.get("Accept", ""))
    return HttpResponse(encode(registry), content_type=content_type)


class RumView(APIView):
    """Browser frame-rate and latency samples. Open to anonymous pages too (sendBeacon carries no
    token); the serializer bounds every value and the batch size."""

    permission_classes = [AllowAny]

    @extend_schema(request=RumBeaconSerializer, responses={
        204: None, 400: OpenApiResponse(description="invalid samples, in the error shape of docs/api.md")})
    def post(self, request):
        if not isinstance(request.data, dict):
            raise InvalidInput("the body must be a JSON object", field="non_field_errors")
        refuse_lone_surrogates(request.data)
        beacon = RumBeaconSerializer(data=request.data)
        beacon.is_valid(raise_exception=True)
        rum.record(**beacon.validated_data)
        return Response(status=status.HTTP_204_NO_CONTENT)

"""Every error answer has one shape: {"detail": "...", "errors": {field: ["..."]}}, from the
DRF views (exception_handler) and from Django itself (the handler400/403/404/500 views)."""
import logging

from django.core.exceptions import RequestDataTooBig
from django.db import DatabaseError
from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from chat.errors import ChatError


log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5  # the database unavailable: a failover or a restart takes seconds


def error_body(detail: str, errors: dict | None = None) -> dict:
    return {"detail": detail, "errors": errors or {}}


def _flatten(errors) -> dict:
    if isinstance(errors, dict):
        return {str(k): [str(m) for m in (v if isinstance(v, list) else [v])] for k, v in errors.items()}
    if isinstance(errors, list):
        return {"non_field_errors": [str(m) for m in errors]}
    return {}


def exception_handler(exc, context):
    if isinstance(exc, ChatError):
        errors = {exc.field: [exc.message]} if exc.field else {}
        return Response({"detail": exc.message, "errors": errors, "code": exc.code}, status=exc.status)
    if isinstance(exc, Http404):
        return Response(error_body("not found"), status=status.HTTP_404_NOT_FOUND)
    if isinstance(exc, RequestDataTooBig):
        return Response(error_body("the request body is too large"), status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
    if isinstance(exc, DatabaseError):
        return database_unavailable(exc)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        response.data = error_body("invalid input", _flatten(exc.detail))
    elif isinstance(exc, exceptions.Throttled):  # Retry-After is set by DRF from the throttle's wait
        response.data = {**error_body(f"too many requests: retry in {exc.wait or 1:.0f} s"), "code": "throttled"}
    else:
        detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
        response.data = error_body(str(detail))
    return response


def database_unavailable(exc: Exception) -> Response:
    """503 with Retry-After: the request may be retried as it is (sends are idempotent by temp_id)."""
    log.warning("database unavailable: %s", exc.__class__.__name__, exc_info=True)
    body = {**error_body("the database is unavailable, retry shortly"), "code": "unavailable"}
    return Response(body, status=status.HTTP_503_SERVICE_UNAVAILABLE,
                    headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


# --- Django's own error views (outside DRF: CSRF, bodies read by middleware, unmatched paths) -

def bad_request(request, exception=None):
    if isinstance(exception, RequestDataTooBig):
        return JsonResponse(error_body("the request body is too large"), status=413)
    return JsonResponse(error_body("bad request"), status=400)


def permission_denied(request, exception=None):
    return JsonResponse(error_body("forbidden"), status=403)


def page_not_found(request, exception=None):
    return JsonResponse(error_body("not found"), status=404)


def server_error(request):
    return JsonResponse(error_body("server error"), status=500)

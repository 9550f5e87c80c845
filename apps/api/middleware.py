import time

from chat import metrics


class RequestMetricsMiddleware:
    """`chat_http_request_seconds{route, method, status}`; the route is the URL pattern, never the
    raw path, so the label set stays small."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        route = match.route if match is not None and match.route else "unmatched"
        metrics.HTTP_REQUEST_SECONDS.labels(route, request.method, str(response.status_code)).observe(
            time.perf_counter() - started)
        return response

import time

from chat import metrics, telemetry


class RequestMetricsMiddleware:
    """`chat_http_request_seconds{route, method, status}`; the route is the URL pattern, never the
    raw path, so the label set stays small. The trace id rides along as the exemplar, and the
    process's Redis pool gauges are refreshed (at most once a second): under gunicorn each worker
    keeps its own, and only the scraped one runs /metrics."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        route = match.route if match is not None and match.route else "unmatched"
        telemetry.observe(metrics.HTTP_REQUEST_SECONDS.labels(route, request.method, str(response.status_code)),
                          time.perf_counter() - started)
        telemetry.sample_pools()
        return response

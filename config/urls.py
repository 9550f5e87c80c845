from django.urls import include, path, re_path

from apps.ops import views as ops
from config import spa

urlpatterns = [
    path("api/rum/", ops.RumView.as_view(), name="rum"),  # before the API's catch-all 404
    path("api/", include("apps.api.urls")),
    path("healthz", ops.healthz, name="healthz"),
    path("readyz", ops.readyz, name="readyz"),
    path("metrics", ops.metrics, name="metrics"),
    # Not sw.js: WhiteNoise serves the built service worker (config/service_worker.py); before a
    # build it is a 404, never index.html (a browser would fail to parse it as the worker).
    re_path(r"^(?!api/|ws/|static/|assets/|sw\.js$).*$", spa.index, name="spa"),
]

# Errors outside the API views (a body read by a middleware, an unmatched path) in the API's
# JSON error shape too; with DEBUG off, never Django's debug pages.
handler400 = "apps.api.errors.bad_request"
handler403 = "apps.api.errors.permission_denied"
handler404 = "apps.api.errors.page_not_found"
handler500 = "apps.api.errors.server_error"

from django.urls import include, path, re_path

from apps.ops import views as ops
from config import spa

urlpatterns = [
    path("api/rum/", ops.RumView.as_view(), name="rum"),  # before the API's catch-all 404
    path("api/", include("apps.api.urls")),
    path("healthz", ops.healthz, name="healthz"),
    path("readyz", ops.readyz, name="readyz"),
    path("metrics", ops.metrics, name="metrics"),
    re_path(r"^(?!api/|ws/|static/|assets/).*$", spa.index, name="spa"),
]

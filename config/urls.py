from django.urls import include, path, re_path

from config import ops_views, spa

urlpatterns = [
    path("api/", include("apps.api.urls")),
    path("healthz", ops_views.healthz, name="healthz"),
    path("readyz", ops_views.readyz, name="readyz"),
    path("metrics", ops_views.metrics, name="metrics"),
    re_path(r"^(?!api/|ws/|static/|assets/).*$", spa.index, name="spa"),
]

from django.apps import AppConfig


class OpsConfig(AppConfig):
    """Running the product: health checks, metrics, browser telemetry (RUM), demo data."""

    name = "apps.ops"
    label = "ops"

"""The Celery application, configured from Django settings (CELERY_* in config/settings/base.py)."""
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")

app = Celery("chat")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.imports = ["apps.worker.tasks"]
# Sends happen on many threads (Daphne's sync_to_async pool): they must all see this app.
app.set_default()

# Signals: metrics, trace context, startup checks (imported for their side effect).
from apps.worker import signals  # noqa: E402,F401

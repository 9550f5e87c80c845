"""The worker process: Celery over Redis (Sentinel), Web Push notifications (docs/operations.md).

`celery -A apps.worker worker` finds `app` here. The tasks only load ids and call `chat`.
"""
from apps.worker.celery import app

__all__ = ["app"]

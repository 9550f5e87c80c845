import os

from django.core.wsgi import get_wsgi_application

from chat import tracing

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")
tracing.configure("chat-api")  # before the handler is built: the Django instrumentation adds a middleware
application = get_wsgi_application()

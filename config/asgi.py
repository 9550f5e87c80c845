"""The ASGI root: HTTP goes to Django (API, health, metrics, SPA), WebSockets to Channels."""
import os

from django.core.asgi import get_asgi_application

from chat import tracing

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")
tracing.configure("chat")  # before the handler is built: the Django instrumentation adds a middleware
django_http = get_asgi_application()  # sets Django up before the consumers import models

from channels.routing import ProtocolTypeRouter  # noqa: E402

from apps.ws.routing import websocket_application  # noqa: E402

application = ProtocolTypeRouter({"http": django_http, "websocket": websocket_application()})

"""The ASGI root: HTTP goes to Django (API, health, metrics, SPA), WebSockets to Channels."""
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")
django_http = get_asgi_application()  # sets Django up before the consumers import models

from channels.routing import ProtocolTypeRouter  # noqa: E402

from chat import tracing  # noqa: E402

from apps.ws.routing import websocket_application  # noqa: E402

tracing.configure("chat")
application = ProtocolTypeRouter({"http": django_http, "websocket": websocket_application()})

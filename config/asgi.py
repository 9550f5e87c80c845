"""The ASGI root: HTTP goes to Django (API, health, metrics, SPA), WebSockets to Channels."""
import os

from django.core.asgi import get_asgi_application

from chat import tracing

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")
tracing.configure("chat")  # before the handler is built: the Django instrumentation adds a middleware
django_http = get_asgi_application()  # sets Django up before the consumers import models

from django.urls import get_resolver  # noqa: E402

# The URL conf (and the API views it imports) loaded now, before the process serves: loaded by
# the first HTTP request instead (a probe, a /metrics scrape), its imports held a ws process's
# event loop for ~150 ms while its sockets waited (apps/ws/loop_watch.py logged them).
get_resolver().url_patterns  # noqa: B018 - loading it is the point

from channels.routing import ProtocolTypeRouter  # noqa: E402

from apps.ws.routing import websocket_application  # noqa: E402

application = ProtocolTypeRouter({"http": django_http, "websocket": websocket_application()})

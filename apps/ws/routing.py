from channels.routing import URLRouter
from django.urls import path, re_path, register_converter

from apps.ws.auth import auth_stack
from apps.ws.consumers import ChatConsumer, UnknownPathConsumer


class _RoomId:
    regex = "[1-9][0-9]{0,17}"

    def to_python(self, value):
        return int(value)

    def to_url(self, value):
        return str(value)


register_converter(_RoomId, "room_id")

websocket_urlpatterns = [
    path("ws/chat/", ChatConsumer.as_asgi()),
    path("ws/chat/<room_id:room_id>/", ChatConsumer.as_asgi()),
    re_path(r"", UnknownPathConsumer.as_asgi()),  # anything else: close 4004, not an HTTP 500
]


def websocket_application():
    return auth_stack(URLRouter(websocket_urlpatterns))

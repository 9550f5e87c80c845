from django.apps import AppConfig


class WsConfig(AppConfig):
    name = "apps.ws"
    label = "ws"

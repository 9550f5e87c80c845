from django.apps import AppConfig


class ChatConfig(AppConfig):
    name = "chat"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from chat import telemetry

        telemetry.start()  # every process sets Django up: api, ws and worker alike

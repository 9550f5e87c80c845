from django.apps import AppConfig


class ChatConfig(AppConfig):
    name = "chat"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from chat import telemetry

        telemetry.start()  # every process sets Django up: api, ws and worker alike

        from django.conf import settings
        from django.db.models.signals import post_save

        from chat.actions.accounts import user_saved

        # However a user is deactivated (admin, shell, an action), their open sockets close.
        post_save.connect(user_saved, sender=settings.AUTH_USER_MODEL, dispatch_uid="chat-user-saved")

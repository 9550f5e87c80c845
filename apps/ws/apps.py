from django.apps import AppConfig


class WsConfig(AppConfig):
    name = "apps.ws"
    label = "ws"

    def ready(self):
        # In ready(), not at the top: Daphne is patched once the app registry is loaded.
        from apps.ws.daphne_compat import (allow_registered_server_close_codes, close_instead_of_drop,
                                           skip_eager_debug_formatting)

        allow_registered_server_close_codes()
        close_instead_of_drop()
        skip_eager_debug_formatting()

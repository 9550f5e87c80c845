from django.apps import AppConfig


class WorkerConfig(AppConfig):
    name = "apps.worker"
    label = "worker"

    def ready(self) -> None:
        # Every process that sends messages (api, ws, embedded) queues notifications through
        # the tasks registered here; chat only knows "a message was stored".
        from apps.worker import queueing

        queueing.install()

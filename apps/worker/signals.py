"""Worker process wiring through Celery signals: startup checks, the metrics server, task
metrics, and the trace context carried in task headers (a send's trace continues here)."""
import logging
import threading
import time

from celery import signals
from django.conf import settings
from kombu.exceptions import ChannelError
from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from prometheus_client import start_http_server

from chat import metrics, tracing, webpush

log = logging.getLogger(__name__)
_started: dict[str, float] = {}
_spans: dict[str, tuple] = {}
QUEUES = ("chat.notifications", "chat.default")
QUEUE_SAMPLE_SECONDS = 5.0


@signals.worker_init.connect
def _check_and_serve(sender=None, **kwargs) -> None:
    webpush.require_keys()  # no VAPID key, no worker: it could sign nothing
    tracing.configure("chat-worker")
    port = settings.CHAT_WORKER_METRICS_PORT
    if port:
        start_http_server(port)
        log.info("worker metrics on :%s/metrics", port)
    threading.Thread(target=_sample_queues, args=(sender.app,), name="queue-length", daemon=True).start()


def _sample_queues(app) -> None:
    """chat_worker_queue_length: what the autoscaler scales on (docs/operations.md)."""
    while True:
        try:
            with app.connection_for_read() as conn:
                channel = conn.default_channel
                for queue in QUEUES:
                    metrics.WORKER_QUEUE_LENGTH.labels(queue).set(_queue_length(channel, queue))
        except Exception as exc:  # noqa: BLE001 - a broker blip must not end the sampler
            log.warning("queue length sample failed: %s", exc)
        time.sleep(QUEUE_SAMPLE_SECONDS)


def _queue_length(channel, queue: str) -> int:
    try:
        _, size, _ = channel.queue_declare(queue=queue, passive=True)
    except ChannelError:  # kombu's Redis transport: an empty queue is no list at all (404)
        return 0
    return size


@signals.before_task_publish.connect
def _inject_trace(headers=None, **kwargs) -> None:
    if headers is not None:
        propagate.inject(headers)


@signals.task_prerun.connect
def _task_started(task_id=None, task=None, **kwargs) -> None:
    _started[task_id] = time.perf_counter()
    carrier = {k: v for k in ("traceparent", "tracestate") if (v := getattr(task.request, k, None))}
    # From the headers when published; an eager task already runs inside the sender's context.
    parent = propagate.extract(carrier) if carrier else None
    span = tracing.tracer.start_span(f"task {task.name}", context=parent, kind=tracing.CONSUMER,
                                     attributes={"celery.task": task.name})
    _spans[task_id] = (span, otel_context.attach(trace.set_span_in_context(span, parent)))


@signals.task_postrun.connect
def _task_finished(task_id=None, task=None, **kwargs) -> None:
    started = _started.pop(task_id, None)
    if started is not None:
        metrics.WORKER_TASK_SECONDS.labels(task.name).observe(time.perf_counter() - started)
    entry = _spans.pop(task_id, None)
    if entry is not None:
        span, token = entry
        otel_context.detach(token)
        span.end()


@signals.task_success.connect
def _task_succeeded(sender=None, **kwargs) -> None:
    metrics.WORKER_TASKS.labels(sender.name, "succeeded").inc()


@signals.task_failure.connect
def _task_failed(sender=None, **kwargs) -> None:
    metrics.WORKER_TASKS.labels(sender.name, "failed").inc()


@signals.task_retry.connect
def _task_retried(sender=None, **kwargs) -> None:
    metrics.WORKER_TASKS.labels(sender.name, "retried").inc()

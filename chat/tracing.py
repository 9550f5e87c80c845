"""OpenTelemetry traces of a message's way: the consumer, the database write, the channel layer
and each delivery to a socket, across processes (the context rides in the event dict).

Exported over OTLP/HTTP when OTEL_EXPORTER_OTLP_ENDPOINT is set (OTEL_SERVICE_NAME names the
process); otherwise the API's no-op tracer is used: nothing is recorded and events carry no
trace context.
"""
import os

from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind

tracer = trace.get_tracer("chat")
SERVER, CONSUMER, PRODUCER, CLIENT, INTERNAL = (SpanKind.SERVER, SpanKind.CONSUMER, SpanKind.PRODUCER,
                                                 SpanKind.CLIENT, SpanKind.INTERNAL)


def configure(default_service_name: str) -> bool:
    """Install the exporting tracer provider once per process, when an endpoint is configured."""
    if not os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        return False
    # Here, not at the top: the SDK and the exporter are loaded only by processes that export.
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    service = os.environ.get("OTEL_SERVICE_NAME", default_service_name)
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    return True


def context_carrier() -> dict:
    """The current trace context as W3C headers (empty when nothing is being traced)."""
    carrier: dict = {}
    propagate.inject(carrier)
    return carrier


def span(name: str, kind=INTERNAL, attributes: dict | None = None):
    return tracer.start_as_current_span(name, kind=kind, attributes=attributes)


def continued_span(carrier: dict, name: str, kind=CONSUMER, attributes: dict | None = None):
    """A span that continues the trace of another process (from an event's carrier)."""
    return tracer.start_as_current_span(name, context=propagate.extract(carrier), kind=kind,
                                        attributes=attributes)

"""OpenTelemetry traces of a message's way across processes.

The standard spans come from the well-kept instrumentations: Django (the HTTP server span, W3C
`traceparent` accepted from the SPA's requests), psycopg (every statement), redis (every command,
the channel layer's included) and Celery (publish and run, the context in the task headers). Our
own spans are only for domain steps: a WebSocket send, the publish to the room, each delivery (the
context rides in the event dict).

Exported over OTLP/HTTP when OTEL_EXPORTER_OTLP_ENDPOINT is set (OTEL_SERVICE_NAME names the
process; OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG choose the sampling, read by the SDK);
otherwise nothing is recorded and events carry no trace context. Tests pass an in-memory exporter.
"""
import contextlib
import os
import re

from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

tracer = trace.get_tracer("chat")
SERVER, CONSUMER, PRODUCER, CLIENT, INTERNAL = (SpanKind.SERVER, SpanKind.CONSUMER, SpanKind.PRODUCER,
                                                 SpanKind.CLIENT, SpanKind.INTERNAL)
# Probes and scrapes would be most of the traces and tell nothing.
UNTRACED_URLS = "healthz,readyz,metrics"
_provider_installed = False
# What our spans are when no provider is installed: the API's no-op spans still cost a context
# attach and detach each, three per message sent (~3 % of a ws process's CPU, py-spy).
_NOT_TRACED = contextlib.nullcontext()
# W3C Trace Context, version 00: 32 hex trace id, 16 hex parent id, 2 hex flags, lower case.
_TRACEPARENT = re.compile(r"00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}")
_W3C = TraceContextTextMapPropagator()


def configure(default_service_name: str, exporter=None) -> bool:
    """Install the tracer provider and the instrumentations, once per process, when an endpoint
    is configured (or a test hands in its exporter). Call it before Django builds its request
    handler (the Django instrumentation adds a middleware) and, in prefork Celery workers, in each
    child (worker_process_init: the export thread does not survive a fork)."""
    if exporter is None and not os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        return False
    _install_provider(default_service_name, exporter)
    instrument()
    return True


def _install_provider(default_service_name: str, exporter) -> None:
    global _provider_installed
    if _provider_installed:
        return
    # Here, not at the top: the SDK and the exporter are loaded only by processes that trace.
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

    service = os.environ.get("OTEL_SERVICE_NAME", default_service_name)
    # No sampler given: the SDK reads OTEL_TRACES_SAMPLER (default parentbased_always_on).
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    if exporter is None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    else:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    _provider_installed = True


def _instrumentors() -> list:
    from opentelemetry.instrumentation.celery import CeleryInstrumentor
    from opentelemetry.instrumentation.django import DjangoInstrumentor
    from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor
    from opentelemetry.instrumentation.redis import RedisInstrumentor

    return [DjangoInstrumentor(), PsycopgInstrumentor(), RedisInstrumentor(), CeleryInstrumentor()]


def instrument() -> None:
    """Turn the standard instrumentations on (each only once)."""
    for instrumentor in _instrumentors():
        if not instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.instrument(excluded_urls=UNTRACED_URLS)


def uninstrument() -> None:
    """Turn them off again (tests; a process keeps them for its life)."""
    for instrumentor in _instrumentors():
        if instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.uninstrument()


def context_carrier() -> dict:
    """The current trace context as W3C headers (empty when nothing is being traced)."""
    carrier: dict = {}
    if _provider_installed:
        propagate.inject(carrier)
    return carrier


def current_trace_id() -> str | None:
    """The hex trace id of the current sampled span (for exemplars), or None."""
    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid and context.trace_flags.sampled else None


def annotate(**attributes) -> None:
    """Attributes on the current span (when one is recording), e.g. a send's temp_id once it is
    checked, so a client's report of one send finds its trace."""
    current = trace.get_current_span()
    if current.is_recording():
        current.set_attributes(attributes)


def span(name: str, kind=INTERNAL, attributes: dict | None = None, context=None):
    """Our own span, a child of the current one (or of `context`, a client's: remote_context)."""
    if not _provider_installed:
        return _NOT_TRACED
    return tracer.start_as_current_span(name, context=context, kind=kind, attributes=attributes)


def remote_context(traceparent: object):
    """The trace context of a client's W3C `traceparent` value (the `message_send` frame's
    optional field), or None for anything that is not a valid one: a bad value is ignored, never
    an error, as the HTTP header is by the Django instrumentation."""
    if not isinstance(traceparent, str) or len(traceparent) != 55 or not _TRACEPARENT.fullmatch(traceparent):
        return None
    context = _W3C.extract({"traceparent": traceparent})
    return context if trace.get_current_span(context).get_span_context().is_valid else None


def continued_span(carrier: dict, name: str, kind=CONSUMER, attributes: dict | None = None):
    """A span that continues the trace of another process (from an event's carrier)."""
    if not _provider_installed:
        return _NOT_TRACED
    return tracer.start_as_current_span(name, context=propagate.extract(carrier), kind=kind,
                                        attributes=attributes)


def batch_span(carriers: list[dict], name: str, kind=INTERNAL, attributes: dict | None = None):
    """A span for one piece of work done for several traced events at once (a batch task's
    messages): it continues the first event's trace and links to every event's (OpenTelemetry's
    span links, the way a batch consumer relates to its producers)."""
    contexts = [propagate.extract(carrier) for carrier in carriers if carrier]
    links = [trace.Link(found) for context in contexts
             if (found := trace.get_current_span(context).get_span_context()).is_valid]
    return tracer.start_as_current_span(name, context=contexts[0] if contexts else None, kind=kind,
                                        attributes=attributes, links=links)

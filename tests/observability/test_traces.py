"""An HTTP send is one trace with the standard instrumentations: the Django server span (continuing
the SPA's W3C traceparent), the psycopg statements, the channel-layer publish and its Redis
commands; the request's latency sample carries the trace id as its exemplar."""
import pytest
from opentelemetry.trace import SpanKind
from prometheus_client import REGISTRY
from prometheus_client.openmetrics.exposition import generate_latest
from prometheus_client.openmetrics.parser import text_string_to_metric_families

pytestmark = pytest.mark.django_db(transaction=True)

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "00f067aa0ba902b7"


def _attr(span, *names):
    return next((span.attributes[n] for n in names if n in span.attributes), None)


def test_http_send_is_one_trace_from_the_spa_request(span_exporter, make_user, make_room, api_client):
    alice, bob = make_user(), make_user()
    room = make_room(owner=alice, members=[bob])
    spa = api_client(alice)
    span_exporter.clear()

    response = spa.post("/api/chat/messages/", {"room": room["id"], "content": "traced", "temp_id": "t-1"},
                                      format="json", HTTP_TRACEPARENT=f"00-{TRACE_ID}-{PARENT_ID}-01")
    assert response.status_code == 201, response.content

    spans = span_exporter.get_finished_spans()
    assert {format(s.context.trace_id, "032x") for s in spans} == {TRACE_ID}, [s.name for s in spans]
    (server,) = [s for s in spans if s.kind == SpanKind.SERVER]
    assert server.name == "POST api/chat/messages/"
    assert format(server.parent.span_id, "016x") == PARENT_ID and server.parent.is_remote

    statements = [s for s in spans if _attr(s, "db.system", "db.system.name") == "postgresql"]
    assert any("INSERT INTO" in (_attr(s, "db.statement", "db.query.text") or "") for s in statements)
    assert all(s.kind == SpanKind.CLIENT for s in statements)
    publish = [s for s in spans if s.name == "fanout publish"]
    assert publish and all(s.kind == SpanKind.PRODUCER for s in publish)
    assert any(_attr(s, "db.system", "db.system.name") == "redis" and s.parent.span_id == publish[0].context.span_id
               for s in spans), "the PUBLISH to Redis is a child of the fan-out publish"

    families = text_string_to_metric_families(generate_latest(REGISTRY).decode())
    exemplars = [s.exemplar.labels["trace_id"] for f in families if f.name == "chat_http_request_seconds"
                 for s in f.samples if s.exemplar is not None and s.labels.get("route") == "api/chat/messages/"]
    assert TRACE_ID in exemplars


def test_probes_and_scrapes_are_not_traced(span_exporter, client):
    assert client.get("/healthz").status_code == 200
    assert client.get("/metrics").status_code == 200
    assert [s for s in span_exporter.get_finished_spans() if s.kind == SpanKind.SERVER] == []


def test_nothing_is_recorded_without_an_endpoint(monkeypatch):
    from chat import tracing

    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    assert tracing.configure("chat-test") is False


def test_an_otlp_endpoint_turns_tracing_on_with_the_sampler_from_the_environment():
    """In a fresh process (the global provider is set once per process)."""
    import os
    import subprocess
    import sys

    script = ("import django; django.setup()\n"
              "from opentelemetry import trace\n"
              "from chat import tracing\n"
              "assert tracing.configure('chat-api')\n"
              "provider = trace.get_tracer_provider()\n"
              "print(provider.sampler.get_description(), provider.resource.attributes['service.name'])\n")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test", "OTEL_SERVICE_NAME": "chat-api-7",
           "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9", "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
           "OTEL_TRACES_SAMPLER_ARG": "0.25"}
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    sampler, service = result.stdout.split()
    assert sampler.startswith("ParentBased{root:TraceIdRatioBased{0.25},") and service == "chat-api-7"

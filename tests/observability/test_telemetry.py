"""The process's own metrics against the real PostgreSQL and Redis: database errors by class,
connections opened, readiness per dependency, Redis pool usage, build info, exemplars."""
import pytest
from django.db import IntegrityError, ProgrammingError, connection, transaction
from prometheus_client import REGISTRY
from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_openmetrics

from chat import metrics, redis_client, telemetry, tracing


def _value(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.mark.django_db(transaction=True)
def test_database_errors_are_counted_by_class(make_user):
    before = _value("chat_db_errors_total", error="ProgrammingError")
    with pytest.raises(ProgrammingError), connection.cursor() as cursor:
        cursor.execute("SELECT * FROM no_such_table_here")
    assert _value("chat_db_errors_total", error="ProgrammingError") == before + 1

    user = make_user()
    before = _value("chat_db_errors_total", error="IntegrityError")
    with pytest.raises(IntegrityError), transaction.atomic():
        make_user(username=user.username)
    assert _value("chat_db_errors_total", error="IntegrityError") == before + 1
    assert connection.execute_wrappers.count(telemetry._count_db_errors) == 1


@pytest.mark.django_db(transaction=True)
def test_each_new_database_connection_is_counted():
    connection.close()
    before = _value("chat_db_connections_opened_total")
    connection.ensure_connection()
    assert _value("chat_db_connections_opened_total") == before + 1
    assert connection.execute_wrappers.count(telemetry._count_db_errors) == 1  # not once per connection


@pytest.mark.django_db
def test_readiness_records_each_dependency(client):
    assert client.get("/readyz").status_code == 200
    assert _value("chat_dependency_up", dependency="database") == 1
    assert _value("chat_dependency_up", dependency="redis") == 1
    telemetry.record_dependency("redis", False)
    assert _value("chat_dependency_up", dependency="redis") == 0


def test_redis_pool_usage_is_sampled():
    client = redis_client.sync_client()
    client.ping()
    telemetry.sample_pools(force=True)
    pool = client.connection_pool
    assert _value("chat_redis_pool_max_connections", pool="client") == pool.max_connections
    assert _value("chat_redis_pool_connections", pool="client", state="idle") >= 1
    held = pool.get_connection()
    try:
        telemetry.sample_pools(force=True)
        assert _value("chat_redis_pool_connections", pool="client", state="used") >= 1
    finally:
        pool.release(held)


def test_build_info_names_the_version():
    samples = [s for s in REGISTRY.collect() if s.name == "chat_build_info"][0].samples
    assert [(s.labels["version"], s.value) for s in samples] == [("0.1.0", 1.0)]
    assert samples[0].labels["commit"]


def test_latency_observed_inside_a_trace_carries_its_trace_id(span_exporter):
    with tracing.span("send"):
        trace_id = tracing.current_trace_id()
        telemetry.observe(metrics.MESSAGE_SEND_SECONDS, 0.004)
    assert trace_id and len(trace_id) == 32
    from prometheus_client.openmetrics.exposition import generate_latest

    families = parse_openmetrics(generate_latest(REGISTRY).decode())
    exemplars = [s.exemplar for f in families if f.name == "chat_message_send_seconds" for s in f.samples
                 if s.exemplar is not None]
    assert trace_id in [e.labels["trace_id"] for e in exemplars]


def test_metric_labels_are_bounded():
    """No user, room, message or connection ids: only labels with a small fixed set of values."""
    from prometheus_client.metrics import MetricWrapperBase

    from tests.observability.test_rules import BOUNDED_LABELS

    from apps.ops import rum

    declared = [m for module in (metrics, telemetry, rum) for m in vars(module).values()
                if isinstance(m, MetricWrapperBase)]
    assert len(declared) > 15
    for metric in declared:
        assert set(metric._labelnames) <= BOUNDED_LABELS | {"version", "commit"}, metric._name

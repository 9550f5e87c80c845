"""A batch task's trace (apps/worker/tasks.py): its `notify messages` span continues the first
send's trace and links to every send's, so each message's trace reaches its notification work."""
import pytest

from apps.worker.tasks import notify_messages
from chat import tracing

pytestmark = pytest.mark.django_db(transaction=True)  # span_exporter reopens the connections


def _send_context(name: str) -> tuple[dict, object]:
    """A send's span (as the ws consumer opens one) and the carrier its batch entry would hold."""
    with tracing.span(name) as span:
        return tracing.context_carrier(), span.get_span_context()


def test_the_batch_span_continues_the_first_send_and_links_every_send(span_exporter):
    first, first_span = _send_context("send one")
    second, second_span = _send_context("send two")

    notify_messages.apply(([[101, first], [102, second]],))  # ids of no stored message: nothing to notify

    (batch,) = [s for s in span_exporter.get_finished_spans() if s.name == "notify messages"]
    assert (batch.context.trace_id, batch.parent.span_id) == (first_span.trace_id, first_span.span_id)
    assert [link.context.span_id for link in batch.links] == [first_span.span_id, second_span.span_id]
    assert batch.attributes["chat.messages"] == 2

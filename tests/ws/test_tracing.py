"""A send is one trace: the consumer's span, the database write, the channel-layer publish, and
each delivery on the receiving side (continued from the context carried in the event)."""

import pytest

from tests.ws.client import settled, until


async def test_send_and_delivery_share_one_trace(world, ws, span_exporter):
    spans = span_exporter
    alice = await ws(f"/ws/chat/{world.room_id}/", world.alice_token)
    bob = await ws(f"/ws/chat/{world.room_id}/", world.bob_token)
    await settled(alice, bob, world.room_id)
    spans.clear()
    await alice.send(type="message_send", content="traced", temp_id="trace-1")
    await alice.expect("message_confirmed", temp_id="trace-1")
    await bob.expect("message_new")
    await until(lambda: any(s.attributes.get("chat.temp_id") == "trace-1" for s in spans.get_finished_spans()),
                "the send's span ended")

    (send,) = [s for s in spans.get_finished_spans() if s.attributes.get("chat.temp_id") == "trace-1"]
    by_name = {}
    for finished in spans.get_finished_spans():
        if finished.context.trace_id == send.context.trace_id:
            by_name.setdefault(finished.name, []).append(finished)
    write = by_name["db insert message"][0]
    publish = next(s for s in by_name["fanout publish"] if s.attributes["chat.frame"] == "message_new")
    deliveries = by_name["ws deliver"]

    trace_id = send.context.trace_id
    assert write.context.trace_id == trace_id and write.parent.span_id == send.context.span_id
    assert publish.context.trace_id == trace_id
    assert any(d.context.trace_id == trace_id and d.parent.span_id == publish.context.span_id
               for d in deliveries), "the delivery continues the publisher's trace"


SPA_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
SPA_SPAN = "00f067aa0ba902b7"


def _hex(span_id: int) -> str:
    return format(span_id, "016x")


def _ancestors(span, by_id: dict) -> list[str]:
    """The names of a span's parents within the recorded spans, nearest first."""
    names = []
    while span.parent is not None and span.parent.span_id in by_id:
        span = by_id[span.parent.span_id]
        names.append(span.name)
    return names


async def test_one_trace_from_the_frame_to_the_notification_task(world, ws, span_exporter):
    """The SPA's traceparent on the frame -> the consumer's span -> the database write (with its
    psycopg statement) -> the publish (with its Redis PUBLISH) -> bob's delivery -> the Celery
    notification task (eager here: the worker's own run continues the same context from the task
    headers, apps/worker/signals.py)."""
    alice = await ws(f"/ws/chat/{world.room_id}/", world.alice_token)
    bob = await ws(f"/ws/chat/{world.room_id}/", world.bob_token)
    await settled(alice, bob, world.room_id)
    span_exporter.clear()
    await alice.send(type="message_send", content="traced from the SPA", temp_id="trace-spa",
                     traceparent=f"00-{SPA_TRACE}-{SPA_SPAN}-01")
    await alice.expect("message_confirmed", temp_id="trace-spa")
    await bob.expect("message_new")
    # The notification work runs on the batch thread (apps/worker/queueing.py) ~0.1 s later.
    await until(lambda: any(s.name == "notify messages" for s in span_exporter.get_finished_spans()),
                "the notification work is recorded")

    spans = [s for s in span_exporter.get_finished_spans() if format(s.context.trace_id, "032x") == SPA_TRACE]
    by_id = {s.context.span_id: s for s in spans}
    (send,) = [s for s in spans if s.name == "ws message_send"]
    assert _hex(send.parent.span_id) == SPA_SPAN and send.parent.is_remote, "a child of the SPA's span"
    (write,) = [s for s in spans if s.name == "db insert message"]
    assert _ancestors(write, by_id) == ["ws message_send"]
    insert = [s for s in spans if "INSERT INTO chat_message" in (s.attributes.get("db.statement") or "")]
    assert insert and _ancestors(insert[0], by_id)[:2] == ["db insert message", "ws message_send"]
    (publish,) = [s for s in spans if s.name == "fanout publish" and s.attributes["chat.frame"] == "message_new"]
    assert "ws message_send" in _ancestors(publish, by_id)
    assert any(s.attributes.get("db.system") == "redis" and s.parent.span_id == publish.context.span_id
               for s in spans), "the Redis PUBLISH is a child of the publish"
    delivered = [s for s in spans if s.name == "ws deliver" and s.attributes.get("chat.frame") == "message_new"]
    assert delivered and all(s.parent.span_id == publish.context.span_id for s in delivered)
    # The batch task's span continues the first send of its batch and links every other send
    # (apps/worker/tasks.py): this send is its parent or one of its links.
    notify = [s for s in span_exporter.get_finished_spans() if s.name == "notify messages"
              and (s in spans or any(link.context.span_id == send.context.span_id for link in s.links))]
    assert notify, f"the notification work continues or links this send: {sorted(s.name for s in spans)}"
    assert all("ws message_send" in _ancestors(s, by_id) for s in notify if s in spans)


@pytest.mark.parametrize("bad", ["nope", 42, {"traceparent": "x"}, f"00-{'0' * 32}-{SPA_SPAN}-01",
                                 f"00-{SPA_TRACE.upper()}-{SPA_SPAN}-01", f"ff-{SPA_TRACE}-{SPA_SPAN}-01",
                                 f"00-{SPA_TRACE}-{SPA_SPAN}-01-extra", None])
async def test_a_bad_traceparent_is_ignored(world, ws, span_exporter, bad):
    alice = await ws(f"/ws/chat/{world.room_id}/", world.alice_token)
    span_exporter.clear()
    await alice.send(type="message_send", content="traced or not", temp_id="trace-bad", traceparent=bad)
    await alice.expect("message_confirmed", temp_id="trace-bad")

    def sends():  # the sender's answer is written before the publish: the span ends after it
        return [s for s in span_exporter.get_finished_spans() if s.name == "ws message_send"]

    await until(sends, "the send's span ended")
    (send,) = sends()
    assert send.parent is None, "a trace of its own, not an error"

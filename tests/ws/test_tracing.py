"""A send is one trace: the consumer's span, the database write, the channel-layer publish, and
each delivery on the receiving side (continued from the context carried in the event)."""


async def test_send_and_delivery_share_one_trace(world, ws, span_exporter):
    spans = span_exporter
    alice = await ws(f"/ws/chat/{world.room_id}/", world.alice_token)
    bob = await ws(f"/ws/chat/{world.room_id}/", world.bob_token)
    await alice.send(type="message_send", content="traced", temp_id="trace-1")
    await alice.expect("message_confirmed", temp_id="trace-1")
    await bob.expect("message_new")

    by_name = {}
    for finished in spans.get_finished_spans():
        by_name.setdefault(finished.name, []).append(finished)
    send = by_name["ws message_send"][0]
    write = by_name["db insert message"][0]
    publish = next(s for s in by_name["fanout publish"] if s.attributes["chat.frame"] == "message_new")
    deliveries = by_name["ws deliver"]

    trace_id = send.context.trace_id
    assert write.context.trace_id == trace_id and write.parent.span_id == send.context.span_id
    assert publish.context.trace_id == trace_id
    assert any(d.context.trace_id == trace_id and d.parent.span_id == publish.context.span_id
               for d in deliveries), "the delivery continues the publisher's trace"

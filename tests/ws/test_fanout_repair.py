"""The hub repairs from PostgreSQL what a room's publications skipped: in order, before anything
newer, and tells the sockets to sync when it cannot (apps/ws/hub.py). A room change with no
publication is made with `import_messages`, which stores messages without publishing them:
to a subscriber it is exactly a dropped publication."""
import json

import pytest
from prometheus_client import REGISTRY

from chat import actions
from tests.ws.client import orm, temp_id

pytestmark = pytest.mark.django_db(transaction=True)


def repairs(what: str) -> float:
    return REGISTRY.get_sample_value("chat_fanout_repairs_total", {"what": what}) or 0.0


async def test_a_missed_change_is_delivered_from_postgresql_before_the_next_message(ws, world):
    bob = await ws(f"/ws/chat/{world.room_id}/", token=world.bob_token)
    alice = await ws(f"/ws/chat/{world.room_id}/", token=world.alice_token)
    gaps_before, messages_before = repairs("gaps"), repairs("messages")
    await orm(actions.import_messages, world.room_id, [(world.alice.id, "never published")])
    await alice.send(type="message_send", content="published", temp_id=temp_id())

    first = await bob.expect("message_new")
    second = await bob.expect("message_new")
    assert (first["message"]["seq"], first["message"]["content"]) == (1, "never published")
    assert (second["message"]["seq"], second["message"]["content"]) == (2, "published")
    # One gap, found either by the next publication (which is held and repairs only seq 1) or,
    # on a slow box, by the position check that follows the subscription (which repairs seq 1 and 2
    # at once if the send has committed by then).
    assert repairs("gaps") == gaps_before + 1
    assert repairs("messages") - messages_before in (1, 2)
    # the sender's own socket has message_confirmed for seq 2; the repaired seq 1 is news to it
    assert (await alice.expect("message_new"))["message"]["seq"] == 1
    await alice.expect("message_confirmed")
    assert [f for f in await alice.take_all("message_new")] == []


async def test_the_senders_confirmation_goes_out_after_the_messages_before_it(ws, world):
    """Another member's message just before the sender's is on its way (here: repaired from
    PostgreSQL); the sender's message_confirmed waits for it, so the client never sees a seq past
    its next and syncs for nothing."""
    alice = await ws(f"/ws/chat/{world.room_id}/", token=world.alice_token)
    held_before = REGISTRY.get_sample_value("chat_ws_confirmations_held_total", {"result": "in_order"}) or 0.0
    await orm(actions.import_messages, world.room_id, [(world.bob.id, "bob's, never published")])
    await alice.send(type="message_send", content="alice's", temp_id=temp_id())

    confirmed = await alice.expect("message_confirmed")
    assert confirmed["message"]["seq"] == 2
    order = [(f["type"], f["message"]["seq"]) for f in map(json.loads, alice.raw)
             if f["type"] in ("message_new", "message_confirmed")]
    assert order == [("message_new", 1), ("message_confirmed", 2)]
    assert REGISTRY.get_sample_value("chat_ws_confirmations_held_total", {"result": "in_order"}) == held_before + 1
    # the next send has nothing to wait for: its own message moved the socket's feed
    await alice.send(type="message_send", content="again", temp_id=temp_id())
    assert (await alice.expect("message_confirmed"))["message"]["seq"] == 3
    assert REGISTRY.get_sample_value("chat_ws_confirmations_held_total", {"result": "in_order"}) == held_before + 1


async def test_a_send_whose_outcome_was_unknown_is_confirmed_in_order_too(ws, world, settings, monkeypatch):
    """PostgreSQL fails after the commit (the send cannot tell whether it landed): the socket
    finds the message by its temp_id and confirms it, after the room's messages before it, as
    for any other send. Here bob's message before it and alice's own were never published; the
    position check repairs them."""
    from django.db import OperationalError, connection, transaction

    settings.CHAT_FANOUT_CHECK_SECONDS = 0.2
    settings.CHAT_CONFIRM_ORDER_WAIT_SECONDS = 20  # a slow box's repair still comes first
    real_send = actions.send_message

    async def no_loop_write(*args, **kwargs):
        return None  # the thread path, where the failure below happens

    def stored_then_lost(sender, **fields):
        with transaction.atomic():
            real_send(sender, **fields)
            connection.run_on_commit = []  # nothing published, as after a failure
        raise OperationalError("server closed the connection unexpectedly")

    alice = await ws(f"/ws/chat/{world.room_id}/", token=world.alice_token)
    await orm(actions.import_messages, world.room_id, [(world.bob.id, "bob's, never published")])
    monkeypatch.setattr(actions, "send_message_async", no_loop_write)
    monkeypatch.setattr(actions, "send_message", stored_then_lost)
    await alice.send(type="message_send", content="alice's", temp_id=temp_id())

    confirmed = await alice.expect("message_confirmed", timeout=25)
    assert confirmed["message"]["seq"] == 2 and confirmed["message"]["content"] == "alice's"
    order = [(f["type"], f["message"]["seq"]) for f in map(json.loads, alice.raw)
             if f["type"] in ("message_new", "message_confirmed")]
    assert order == [("message_new", 1), ("message_confirmed", 2)]


async def test_a_missed_edit_is_repaired_as_an_update(ws, world):
    alice = await ws(f"/ws/chat/{world.room_id}/", token=world.alice_token)
    await alice.send(type="message_send", content="draft", temp_id="e-1")
    message = (await alice.expect("message_confirmed", temp_id="e-1"))["message"]
    bob = await ws(f"/ws/chat/{world.room_id}/", token=world.bob_token)
    changes_before = repairs("changes")
    # an edit whose publication is lost: the room's change feed moves, nothing is published
    from django.db import connection, transaction

    def edit_unpublished():
        with transaction.atomic():
            actions.edit_message(world.alice, message_id=message["id"], content="final")
            connection.run_on_commit = []  # drop the publication, as a Redis outage would

    await orm(edit_unpublished)
    await alice.send(type="message_send", content="next", temp_id="e-2")
    updated = await bob.expect("message_updated")
    new = await bob.expect("message_new")
    assert updated["message"]["id"] == message["id"] and updated["message"]["content"] == "final"
    assert new["message"]["content"] == "next"
    assert repairs("changes") == changes_before + 1


async def test_past_the_repair_bound_the_sockets_are_told_to_resync(ws, world, settings):
    settings.CHAT_FANOUT_REPAIR_LIMIT = 2
    bob = await ws(f"/ws/chat/{world.room_id}/", token=world.bob_token)
    alice = await ws(f"/ws/chat/{world.room_id}/", token=world.alice_token)
    await orm(actions.import_messages, world.room_id, [(world.alice.id, f"old {i}") for i in range(3)])
    await alice.send(type="message_send", content="live", temp_id=temp_id())
    resync = await bob.expect("resync")
    assert resync == {"type": "resync", "room": world.room_id, "reason": "gap"}
    live = await bob.expect("message_new")
    assert live["message"]["seq"] == 4 and live["message"]["content"] == "live"


async def test_a_quiet_room_is_compared_with_postgresql(ws, world, settings):
    """No next publication reveals the gap: the periodic position check does."""
    settings.CHAT_FANOUT_CHECK_SECONDS = 0.2
    bob = await ws(f"/ws/chat/{world.room_id}/", token=world.bob_token)
    await orm(actions.import_messages, world.room_id, [(world.alice.id, "quietly stored")])
    repaired = await bob.expect("message_new", timeout=10)
    assert repaired["message"]["content"] == "quietly stored"


async def test_one_publication_reaches_every_socket_of_the_room_in_this_process(ws, world):
    sockets = [await ws(f"/ws/chat/{world.room_id}/", token=world.bob_token, name=f"bob{i}") for i in range(5)]
    alice = await ws("/ws/chat/", token=world.alice_token)
    await alice.send(type="message_send", room=world.room_id, content="to all", temp_id=temp_id())
    for socket in sockets:
        assert (await socket.expect("message_new"))["message"]["content"] == "to all"
    assert await alice.take_all("message_new") == [], "the sending socket gets message_confirmed only"


def _publish_stored(room_id: int, order: list[int]) -> None:
    """Publish the message_new of stored (imported, unpublished) messages, seq by seq in `order`,
    as two ws processes' publications crossing in Redis would arrive."""
    import time

    from chat import broadcast, events, frames
    from chat.models import Message
    from chat.payloads import message_by_id

    rows = {m.seq: m for m in Message.objects.filter(room_id=room_id, seq__in=order)}
    for seq in order:
        row = rows[seq]
        header = {"kind": "message_new", "room": room_id, "seq": seq, "change": row.change_seq, "ts": time.time()}
        broadcast.publish(broadcast.Publication(broadcast.room_channel(room_id), header,
                                                events.encode(frames.message_new(message_by_id(row.id)))))


def reordered() -> float:
    return REGISTRY.get_sample_value("chat_fanout_reordered_total") or 0.0


async def test_publications_that_cross_are_delivered_in_order_without_postgresql(ws, world):
    bob = await ws(f"/ws/chat/{world.room_id}/", token=world.bob_token)
    alice = await ws(f"/ws/chat/{world.room_id}/", token=world.alice_token)
    await alice.send(type="message_send", content="settles the feed", temp_id=temp_id())
    assert (await bob.expect("message_new"))["message"]["seq"] == 1
    gaps_before, reordered_before = repairs("gaps"), reordered()

    await orm(actions.import_messages, world.room_id, [(world.alice.id, "second"), (world.alice.id, "third")])
    await orm(_publish_stored, world.room_id, [3, 2])  # seq 3's publication overtakes seq 2's

    got = [await bob.expect("message_new"), await bob.expect("message_new")]
    assert [(f["message"]["seq"], f["message"]["content"]) for f in got] == [(2, "second"), (3, "third")]
    assert reordered() == reordered_before + 1
    assert repairs("gaps") == gaps_before, "closed by the late publication, not by a repair"

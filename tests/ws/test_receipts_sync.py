"""Receipts (forward-only watermarks, coalesced) and delta sync (by seq / by message id, changes
to older messages, paging, reset)."""
import pytest

from chat import actions
from chat.models import Membership, Message
from tests.ws.client import orm

pytestmark = pytest.mark.django_db(transaction=True)


def _send(user, room_id, n, prefix="m"):
    return [actions.send_message(user, room_id=room_id, content=f"{prefix} {i}", temp_id=f"{prefix}-{i}").message for i in range(n)]


def _watermarks(room_id, user):
    return Membership.objects.filter(room_id=room_id, user=user).values_list(
        "last_delivered_seq", "last_read_seq").get()


async def test_receipts_move_watermarks_forward_only(ws, world):
    messages = await orm(_send, world.alice, world.room_id, 3)
    alice = await ws(f"/ws/chat/{world.room_id}/", token=world.alice_token)
    bob = await ws("/ws/chat/", token=world.bob_token)
    await bob.send(type="mark_delivered", room=world.room_id, message_id=messages[1]["id"])
    receipt = await alice.expect("receipt")
    assert receipt == {"type": "receipt", "room": world.room_id, "user_id": world.bob.id, "kind": "delivered",
                       "message_id": messages[1]["id"], "seq": 2}
    await bob.send(type="mark_read", room=world.room_id, message_id=messages[2]["id"])
    receipt = await alice.expect("receipt", kind="read")
    assert receipt["seq"] == 3 and receipt["message_id"] == messages[2]["id"] and receipt["user_id"] == world.bob.id
    assert await orm(_watermarks, world.room_id, world.bob) == (3, 3)
    await alice.take_all("receipt", quiet=0.4)
    # backwards: nothing moves, nothing is announced
    await bob.send(type="mark_read", room=world.room_id, message_id=messages[0]["id"])
    await bob.send(type="mark_delivered", room=world.room_id, message_id=messages[1]["id"])
    assert await alice.take_all("receipt", quiet=0.8) == []
    assert await orm(_watermarks, world.room_id, world.bob) == (3, 3)
    # a message of another room, a missing id: an error frame, the socket stays
    await bob.send(type="mark_read", room=world.room_id, message_id=987654321)
    assert (await bob.expect("error"))["code"] == "not_found"
    await bob.send(type="mark_read", room=world.room_id)
    assert (await bob.expect("error"))["field"] == "message_id"
    await bob.assert_open()


async def test_a_burst_of_marks_is_coalesced(ws, world):
    bulk = await orm(actions.import_messages, world.room_id, [(world.alice.id, f"old {i}") for i in range(100)])
    assert bulk == 100
    ids = await orm(lambda: list(Message.objects.filter(room_id=world.room_id).order_by("seq")
                                 .values_list("id", flat=True)))
    alice = await ws(f"/ws/chat/{world.room_id}/", token=world.alice_token)
    bob = await ws(f"/ws/chat/{world.room_id}/", token=world.bob_token)
    for message_id in ids:  # a client scrolling through a backlog marks every message it shows
        await bob.send(type="mark_read", message_id=message_id)
    receipts = await alice.take_all("receipt", quiet=1.0)
    assert 1 <= len(receipts) <= 10, f"{len(receipts)} receipt frames for 100 marks"
    seqs = [r["seq"] for r in receipts]
    assert seqs == sorted(set(seqs)) and seqs[-1] == 100, seqs
    assert [f for f in bob.inbox if f["type"] == "error"] == [], "marks are not refused as a flood"
    assert await orm(_watermarks, world.room_id, world.bob) == (100, 100)


def _prepare_history(world):
    """Five messages; then, after the client saw seq 5, message 1 is edited, message 2 gets a
    reaction and message 3 is deleted."""
    messages = _send(world.alice, world.room_id, 5)
    actions.edit_message(world.alice, message_id=messages[0]["id"], content="edited later")
    actions.set_reaction(world.bob, message_id=messages[1]["id"], emoji="🎉", present=True)
    actions.delete_message(world.alice, messages[2]["id"])
    return messages


async def test_sync_by_last_seq_returns_newer_messages_and_changes_to_older(ws, world):
    messages = await orm(_prepare_history, world)
    bob = await ws(f"/ws/chat/{world.room_id}/", token=world.bob_token)
    await bob.send(type="sync_request", last_seq=5)
    answer = await bob.expect("sync_response")
    assert answer["room"] == world.room_id and answer["messages"] == []
    assert answer["has_more"] is False and answer["reset"] is False
    updated = {m["id"]: m for m in answer["updated"]}
    assert set(updated) == {messages[0]["id"], messages[1]["id"], messages[2]["id"]}
    assert updated[messages[0]["id"]]["content"] == "edited later"
    assert updated[messages[1]["id"]]["reactions"] == [{"emoji": "🎉", "count": 1, "users": [world.bob.id]}]
    assert updated[messages[2]["id"]]["deleted"] is True and updated[messages[2]["id"]]["content"] == ""

    await bob.send(type="sync_request", last_seq=2)
    answer = await bob.expect("sync_response")
    assert [m["seq"] for m in answer["messages"]] == [3, 4, 5]
    assert answer["messages"][0]["deleted"] is True
    assert {m["id"] for m in answer["updated"]} == {messages[0]["id"], messages[1]["id"]}

    await bob.send(type="sync_request", last_seq=0)
    answer = await bob.expect("sync_response")
    assert [m["seq"] for m in answer["messages"]] == [1, 2, 3, 4, 5] and answer["updated"] == []


async def test_sync_by_last_message_id_on_the_all_rooms_socket(ws, world):
    messages = await orm(_prepare_history, world)
    bob = await ws("/ws/chat/", token=world.bob_token)
    await bob.send(type="sync_request", room=world.room_id, last_message_id=messages[3]["id"])
    answer = await bob.expect("sync_response")
    assert answer["room"] == world.room_id
    assert [m["id"] for m in answer["messages"]] == [messages[4]["id"]]
    assert {m["id"] for m in answer["updated"]} == {m["id"] for m in messages[:3]}
    await bob.send(type="sync_request", last_message_id=messages[3]["id"])  # no room on /ws/chat/
    assert (await bob.expect("error"))["field"] == "room"
    await bob.send(type="sync_request", room=world.room_id, last_message_id=987654321)
    assert (await bob.expect("error"))["field"] == "last_message_id"
    await bob.send(type="sync_request", room=world.room_id, last_seq=-1)
    assert (await bob.expect("error"))["field"] == "last_seq"
    await bob.assert_open()


async def test_sync_pages_with_has_more(ws, world, settings):
    settings.CHAT_SYNC_PAGE_SIZE = 2
    await orm(_send, world.alice, world.room_id, 5)
    bob = await ws(f"/ws/chat/{world.room_id}/", token=world.bob_token)
    seen, last_seq, pages = [], 0, 0
    while True:
        await bob.send(type="sync_request", last_seq=last_seq)
        answer = await bob.expect("sync_response")
        pages += 1
        seen += [m["seq"] for m in answer["messages"]]
        assert len(answer["messages"]) <= 2
        if not answer["has_more"]:
            break
        last_seq = answer["messages"][-1]["seq"]
        assert pages < 10
    assert seen == [1, 2, 3, 4, 5] and pages == 3


async def test_sync_too_far_behind_answers_reset(ws, world, settings):
    settings.CHAT_SYNC_RESET_AFTER = 3
    await orm(_send, world.alice, world.room_id, 5)
    bob = await ws(f"/ws/chat/{world.room_id}/", token=world.bob_token)
    await bob.send(type="sync_request", last_seq=1)
    answer = await bob.expect("sync_response")
    assert answer["reset"] is True and answer["messages"] == [] and answer["has_more"] is False
    await bob.send(type="sync_request", last_seq=2)
    answer = await bob.expect("sync_response")
    assert answer["reset"] is False and [m["seq"] for m in answer["messages"]] == [3, 4, 5]

"""Domain writes: receipts are forward-only watermarks, edits/deletes/reactions bump version and
change_seq, seq is gap-free, temp_id exactly once."""
import pytest

from chat import actions, queries
from chat.errors import Conflict, Forbidden, InvalidInput, NotFound
from chat.models import Membership, Message, Reaction, Room

pytestmark = pytest.mark.django_db


@pytest.fixture
def pair(make_user, make_room):
    alice, bob = make_user(), make_user()
    room = make_room(owner=alice, members=[bob])
    sent = [actions.send_message(alice, room_id=room["id"], content=f"m{i}", temp_id=f"t{i}").message for i in range(5)]
    return alice, bob, room, sent


def _marks(user, room):
    m = Membership.objects.get(user=user, room_id=room["id"])
    return m.last_delivered_seq, m.last_read_seq


def test_watermarks_only_move_forward(pair):
    alice, bob, room, sent = pair
    assert _marks(bob, room) == (0, 0)
    receipt = actions.mark(bob, room_id=room["id"], message_id=sent[3]["id"], kind="delivered")
    assert receipt == {"type": "receipt", "room": room["id"], "user_id": bob.id, "kind": "delivered",
                       "message_id": sent[3]["id"], "seq": 4}
    assert _marks(bob, room) == (4, 0)
    assert actions.mark(bob, room_id=room["id"], message_id=sent[1]["id"], kind="delivered") is None  # backwards: no move
    assert actions.mark(bob, room_id=room["id"], message_id=sent[3]["id"], kind="delivered") is None  # same: no move
    assert _marks(bob, room) == (4, 0)
    assert actions.mark(bob, room_id=room["id"], message_id=sent[1]["id"], kind="read")["seq"] == 2
    assert _marks(bob, room) == (4, 2)  # read does not pull delivered back
    assert actions.mark(bob, room_id=room["id"], message_id=sent[4]["id"], kind="read")["kind"] == "read"
    assert _marks(bob, room) == (5, 5)  # read implies delivered
    assert actions.mark(bob, room_id=room["id"], message_id=sent[0]["id"], kind="read") is None
    assert _marks(bob, room) == (5, 5)


def test_receipt_errors(pair, make_user, make_room):
    alice, bob, room, sent = pair
    other_room = make_room(owner=bob)
    elsewhere = actions.send_message(bob, room_id=other_room["id"], content="x", temp_id="x").message
    with pytest.raises(NotFound) as info:
        actions.mark(bob, room_id=room["id"], message_id=elsewhere["id"], kind="read")
    assert info.value.field == "message_id"
    with pytest.raises(InvalidInput):
        actions.mark(bob, room_id=room["id"], message_id="abc", kind="delivered")
    with pytest.raises(NotFound):
        actions.mark(make_user(), room_id=room["id"], message_id=sent[0]["id"], kind="read")


def test_unread_counts(pair):
    alice, bob, room, sent = pair
    [bob_room] = queries.rooms_of_user(bob.id)
    assert bob_room["unread_count"] == 5 and bob_room["last_message"]["id"] == sent[-1]["id"]
    assert queries.rooms_of_user(alice.id)[0]["unread_count"] == 0  # own messages are read
    actions.mark(bob, room_id=room["id"], message_id=sent[2]["id"], kind="read")
    assert queries.room_detail(bob.id, room["id"])["unread_count"] == 2
    actions.send_message(bob, room_id=room["id"], content="reply", temp_id="r1")  # sending reads everything before it
    assert queries.room_detail(bob.id, room["id"])["unread_count"] == 0
    assert queries.room_detail(alice.id, room["id"])["unread_count"] == 1


def test_edit_delete_react_bump_version_and_change_seq(pair):
    alice, bob, room, sent = pair
    first = sent[0]
    edited = actions.edit_message(alice, message_id=first["id"], content="e\u0301dited")  # decomposed é
    assert edited["content"] == "\u00e9dited" and edited["version"] == 2 and edited["edited_at"]
    assert edited["change_seq"] > sent[-1]["change_seq"] and edited["seq"] == 1
    same = actions.edit_message(alice, message_id=first["id"], content="\u00e9dited")  # no change: no bump
    assert same["version"] == 2 and same["change_seq"] == edited["change_seq"]
    with pytest.raises(Forbidden):
        actions.edit_message(bob, message_id=first["id"], content="not mine")
    with pytest.raises(Forbidden):
        actions.delete_message(bob, first["id"])

    reacted = actions.set_reaction(bob, message_id=first["id"], emoji="👍", present=True)
    assert reacted["version"] == 3 and reacted["reactions"] == [{"emoji": "👍", "count": 1, "users": [bob.id]}]
    again = actions.set_reaction(bob, message_id=first["id"], emoji="👍", present=True)
    assert again["version"] == 3 and Reaction.objects.filter(message_id=first["id"]).count() == 1
    actions.set_reaction(alice, message_id=first["id"], emoji="👍", present=True)
    assert actions.set_reaction(bob, message_id=first["id"], emoji="🎉", present=True)["reactions"] == [
        {"emoji": "👍", "count": 2, "users": [bob.id, alice.id]}, {"emoji": "🎉", "count": 1, "users": [bob.id]}]

    deleted = actions.delete_message(alice, first["id"])
    assert deleted["deleted"] is True and deleted["content"] == "" and deleted["reactions"] == []
    assert deleted["version"] == 6  # 1 + edit + 3 reactions + delete
    row = Message.objects.get(id=first["id"])
    assert row.content == "" and row.deleted_at is not None and row.seq == 1  # soft: the seq stays
    assert not Reaction.objects.filter(message_id=first["id"]).exists()
    with pytest.raises(Conflict):
        actions.delete_message(alice, first["id"])
    with pytest.raises(Conflict):
        actions.edit_message(alice, message_id=first["id"], content="back")
    with pytest.raises(Conflict):
        actions.set_reaction(bob, message_id=first["id"], emoji="👍", present=True)
    # change_seq values are unique per room: a feed
    changes = list(Message.objects.filter(room_id=room["id"]).values_list("change_seq", flat=True))
    assert len(changes) == len(set(changes))
    assert Room.objects.get(id=room["id"]).last_change_seq == max(changes)


def test_send_is_exactly_once_and_gap_free(pair, make_user):
    alice, bob, room, sent = pair
    assert [m["seq"] for m in sent] == [1, 2, 3, 4, 5]
    again = actions.send_message(alice, room_id=room["id"], content="different text, same temp id", temp_id="t2")
    assert again.created is False and again.message["id"] == sent[2]["id"] and again.message["content"] == "m2"
    # the same temp_id from another sender is another message
    theirs = actions.send_message(bob, room_id=room["id"], content="bob's t2", temp_id="t2")
    assert theirs.created is True and theirs.message["seq"] == 6
    with pytest.raises(NotFound):
        actions.send_message(make_user(), room_id=room["id"], content="intruder", temp_id="i1")
    with pytest.raises(InvalidInput):
        actions.send_message(alice, room_id=room["id"], content="   \n\t ", temp_id="blank")
    assert Room.objects.get(id=room["id"]).last_seq == 6
    assert sorted(Message.objects.filter(room_id=room["id"]).values_list("seq", flat=True)) == list(range(1, 7))


def test_direct_room_is_reused_and_closed_to_new_members(make_user):
    a, b, c = make_user(), make_user(), make_user()
    room, created = actions.create_room(a, kind="direct", members=[b.id])
    again, created_again = actions.create_room(b, kind="direct", members=[a.id])
    assert created and not created_again and again["id"] == room["id"]
    with pytest.raises(Forbidden):
        actions.add_member(a, room_id=room["id"], user_id=c.id)
    with pytest.raises(InvalidInput):
        actions.create_room(a, kind="direct", members=[b.id, c.id])

"""Delta sync (chat.queries.changes_since): new messages after a seq, paged, plus the edits,
deletes and reactions to older messages since the client's change point; reset when too far behind."""
import pytest
from django.test import override_settings

from chat import actions, queries
from chat.errors import InvalidInput, NotFound
from chat.models import Message

pytestmark = pytest.mark.django_db


@pytest.fixture
def room_with_history(make_user, make_room):
    alice, bob = make_user(), make_user()
    room = make_room(owner=alice, members=[bob])
    sent = [actions.send_message(alice if i % 2 == 0 else bob, room_id=room["id"], content=f"ტექსტი {i}",
                                 temp_id=f"t{i}").message for i in range(10)]
    return alice, bob, room, sent


def test_new_messages_after_a_seq(room_with_history):
    alice, bob, room, sent = room_with_history
    result = queries.changes_since(bob.id, room["id"], last_seq=6)
    assert [m["seq"] for m in result["messages"]] == [7, 8, 9, 10]
    assert result["updated"] == [] and result["has_more"] is False and result["reset"] is False
    assert result["last_seq"] == 10 and result["room"] == room["id"]
    assert queries.changes_since(bob.id, room["id"], last_seq=10)["messages"] == []
    # a last_seq beyond the room's is clamped, not an error
    assert queries.changes_since(bob.id, room["id"], last_seq=99)["messages"] == []
    assert [m["seq"] for m in queries.changes_since(bob.id, room["id"], last_seq=-5)["messages"]] == list(range(1, 11))


def test_new_messages_are_paged(room_with_history):
    alice, bob, room, sent = room_with_history
    first = queries.changes_since(bob.id, room["id"], last_seq=2, page_size=3)
    assert [m["seq"] for m in first["messages"]] == [3, 4, 5] and first["has_more"] is True
    second = queries.changes_since(bob.id, room["id"], last_seq=5, page_size=3)
    assert [m["seq"] for m in second["messages"]] == [6, 7, 8] and second["has_more"] is True
    third = queries.changes_since(bob.id, room["id"], last_seq=8, page_size=3)
    assert [m["seq"] for m in third["messages"]] == [9, 10] and third["has_more"] is False


def test_changes_to_older_messages_since_the_clients_last_message(room_with_history):
    alice, bob, room, sent = room_with_history
    # Bob last saw seq 6. Then: alice edits seq 1, deletes seq 3, bob reacts to seq 5,
    # alice edits seq 9 (a new message for bob: it arrives in `messages`, not `updated`).
    actions.edit_message(alice, message_id=sent[0]["id"], content="შესწორებული")
    actions.delete_message(alice, sent[2]["id"])
    actions.set_reaction(bob, message_id=sent[4]["id"], emoji="👍", present=True)
    actions.edit_message(alice, message_id=sent[8]["id"], content="new and edited")
    result = queries.changes_since(bob.id, room["id"], last_seq=6)
    assert [m["seq"] for m in result["updated"]] == [1, 3, 5]  # in change order
    edited, deleted, reacted = result["updated"]
    assert edited["content"] == "შესწორებული" and edited["version"] == 2 and edited["edited_at"]
    assert deleted["deleted"] is True and deleted["content"] == ""
    assert reacted["reactions"] == [{"emoji": "👍", "count": 1, "users": [bob.id]}]
    new = {m["seq"]: m for m in result["messages"]}
    assert new[9]["content"] == "new and edited"


def test_changes_before_the_clients_view_are_not_repeated(room_with_history):
    alice, bob, room, sent = room_with_history
    actions.edit_message(alice, message_id=sent[0]["id"], content="edited before bob synced")
    # Bob then synced up to now: his change point is the room's latest change.
    point = Message.objects.filter(room_id=room["id"]).order_by("-change_seq").values_list(
        "change_seq", flat=True).first()
    actions.edit_message(alice, message_id=sent[2]["id"], content="edited after")
    result = queries.changes_since(bob.id, room["id"], last_seq=10, since_change_seq=point)
    assert [m["seq"] for m in result["updated"]] == [3]
    # Without a change point, the default is "since the client's last message was created":
    # both edits happened after seq 10 was created.
    result = queries.changes_since(bob.id, room["id"], last_seq=10)
    assert [m["seq"] for m in result["updated"]] == [1, 3]


def test_reaction_removed_is_a_change_too(room_with_history):
    alice, bob, room, sent = room_with_history
    actions.set_reaction(bob, message_id=sent[1]["id"], emoji="❤️", present=True)
    point = queries.changes_since(bob.id, room["id"], last_seq=10)["updated"][0]["change_seq"]
    actions.set_reaction(bob, message_id=sent[1]["id"], emoji="❤️", present=False)
    result = queries.changes_since(bob.id, room["id"], last_seq=10, since_change_seq=point)
    assert [(m["seq"], m["reactions"]) for m in result["updated"]] == [(2, [])]


def test_reset_when_too_far_behind(room_with_history):
    alice, bob, room, sent = room_with_history
    result = queries.changes_since(bob.id, room["id"], last_seq=2, reset_after=5)
    assert result["reset"] is True and result["messages"] == [] and result["updated"] == []
    assert result["last_seq"] == 10
    assert queries.changes_since(bob.id, room["id"], last_seq=5, reset_after=5)["reset"] is False
    with override_settings(CHAT_SYNC_RESET_AFTER=3):
        assert queries.changes_since(bob.id, room["id"], last_seq=6)["reset"] is True
        assert queries.changes_since(bob.id, room["id"], last_seq=7)["reset"] is False


def test_non_member_cannot_sync(room_with_history, make_user):
    alice, bob, room, sent = room_with_history
    with pytest.raises(NotFound):
        queries.changes_since(make_user().id, room["id"], last_seq=0)


def test_the_cursor_of_a_sync_request(room_with_history):
    """changes_since_cursor takes a frame's raw values: last_seq, or else last_message_id, or the start."""
    alice, bob, room, sent = room_with_history
    by_seq = queries.changes_since_cursor(bob.id, room["id"], last_seq=6, since_change_seq=None)
    assert [m["seq"] for m in by_seq["messages"]] == [7, 8, 9, 10]
    by_id = queries.changes_since_cursor(bob.id, room["id"], last_message_id=str(sent[5]["id"]))
    assert by_id == by_seq
    assert len(queries.changes_since_cursor(bob.id, room["id"])["messages"]) == 10
    for cursor, field in [({"last_seq": -1}, "last_seq"), ({"last_seq": True}, "last_seq"),
                          ({"last_seq": "3"}, "last_seq"), ({"last_message_id": "x"}, "last_message_id"),
                          ({"last_seq": 1, "since_change_seq": 1.5}, "since_change_seq")]:
        with pytest.raises(InvalidInput) as info:
            queries.changes_since_cursor(bob.id, room["id"], **cursor)
        assert info.value.field == field, cursor

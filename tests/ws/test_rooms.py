"""Membership changes reach open sockets: added rooms are subscribed at once, a removed member's
sockets leave the room (a one-room socket is closed with 4003), other members are untouched."""
import pytest

from chat import actions
from tests.ws.client import orm, temp_id

pytestmark = pytest.mark.django_db(transaction=True)


async def test_added_room_is_subscribed_on_the_all_rooms_socket(ws, world, make_user):
    carol_all = await ws("/ws/chat/", token=world.carol_token)
    await orm(actions.add_member, world.alice, room_id=world.room_id, user_id=world.carol.id)
    added = await carol_all.expect("room_added")
    assert added["room"]["id"] == world.room_id
    alice = await ws(f"/ws/chat/{world.room_id}/", token=world.alice_token)
    await alice.send(type="message_send", content="welcome", temp_id=temp_id())
    new = await carol_all.expect("message_new")
    assert new["message"]["content"] == "welcome"


async def test_a_new_room_is_subscribed_on_the_creators_open_socket(ws, world):
    alice_all = await ws("/ws/chat/", token=world.alice_token)
    bob_all = await ws("/ws/chat/", token=world.bob_token)
    room, _ = await orm(actions.create_room, world.alice, name="new", members=[world.bob.id])
    assert (await alice_all.expect("room_added"))["room"]["id"] == room["id"]
    assert (await bob_all.expect("room_added"))["room"]["id"] == room["id"]
    await alice_all.send(type="message_send", room=room["id"], content="first", temp_id=temp_id())
    await alice_all.expect("message_confirmed")
    assert (await bob_all.expect("message_new"))["message"]["content"] == "first"


async def test_removed_member_leaves_the_room_on_every_socket(ws, world):
    bob_room = await ws(f"/ws/chat/{world.room_id}/", token=world.bob_token)
    bob_all = await ws("/ws/chat/", token=world.bob_token)
    alice = await ws(f"/ws/chat/{world.room_id}/", token=world.alice_token)

    await orm(actions.remove_member, world.alice, room_id=world.room_id, user_id=world.bob.id)

    assert await bob_room.expect_close() == 4003
    removed = await bob_all.expect("room_removed")
    assert removed["room"] == world.room_id and removed["user_id"] == world.bob.id
    await alice.send(type="message_send", content="after bob left", temp_id=temp_id())
    await alice.expect("message_confirmed")
    await bob_all.assert_open()
    assert not [f for f in bob_all.inbox if f["type"] == "message_new"], "no messages after leaving"
    assert not [f for f in alice.inbox if f["type"] == "room_removed"], "only the leaver acts on it"

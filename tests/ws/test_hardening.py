"""Sockets follow their token (logout, log out everywhere, deactivation, expiry), the per-user
socket cap, unknown paths, bounded frames, and one-room sockets kept to their room."""
import json
from datetime import timedelta

import pytest
from django.utils import timezone
from knox.models import AuthToken

from accounts import tokens
from chat import actions
from tests.ws.client import orm, temp_id

pytestmark = pytest.mark.django_db(transaction=True)


async def test_logout_closes_only_that_tokens_sockets(ws, world):
    phone, laptop = await orm(tokens.issue_token, world.alice), await orm(tokens.issue_token, world.alice)
    all_rooms = await ws("/ws/chat/", token=phone)
    one_room = await ws(f"/ws/chat/{world.room_id}/", token=phone)
    other_device = await ws("/ws/chat/", token=laptop)
    await orm(tokens.revoke, await orm(tokens.resolve, phone))
    assert await all_rooms.expect_close() == 4001
    assert await one_room.expect_close() == 4001
    await other_device.assert_open()
    # the revoked token cannot open a socket again
    again = await ws("/ws/chat/", token=phone, expect_established=False)
    assert await again.expect_close() == 4001


async def test_logout_everywhere_closes_every_socket_of_the_user(ws, world):
    sockets = [await ws("/ws/chat/", token=await orm(tokens.issue_token, world.alice)) for _ in range(2)]
    sockets.append(await ws(f"/ws/chat/{world.room_id}/", token=world.alice_token))
    bob = await ws("/ws/chat/", token=world.bob_token)
    assert await orm(tokens.revoke_all, world.alice) == 3  # the world's token and the two new ones
    for socket in sockets:
        assert await socket.expect_close() == 4001
    await bob.assert_open()


async def test_deactivated_user_sockets_close(ws, world):
    alice = await ws(f"/ws/chat/{world.room_id}/", token=world.alice_token)
    bob = await ws("/ws/chat/", token=world.bob_token)

    def deactivate():
        world.alice.is_active = False
        world.alice.save()

    await orm(deactivate)
    assert await alice.expect_close() == 4001
    await bob.assert_open()


async def test_socket_closes_when_its_token_expires(ws, world):
    token = await orm(tokens.issue_token, world.alice)
    await orm(lambda: AuthToken.objects.filter(user=world.alice, expiry__gt=timezone.now() + timedelta(days=1))
              .update(expiry=timezone.now() + timedelta(seconds=1.5)))
    client = await ws("/ws/chat/", token=token)
    await client.assert_open()
    assert await client.expect_close(timeout=5) == 4001


async def test_sockets_per_user_are_capped(ws, world, settings):
    settings.CHAT_WS_MAX_SOCKETS_PER_USER = 3
    opened = [await ws("/ws/chat/", token=world.alice_token) for _ in range(3)]
    refused = await ws(f"/ws/chat/{world.room_id}/", token=world.alice_token, expect_established=False)
    error = await refused.expect("error")
    assert error["code"] == "too_many_sockets"
    assert await refused.expect_close() == 4029
    await opened[0].disconnect()
    await opened[1].assert_open()
    # a socket closed frees its place
    again = await ws("/ws/chat/", token=world.alice_token)
    await again.assert_open()
    await (await ws("/ws/chat/", token=world.bob_token)).assert_open()  # another user's budget


@pytest.mark.parametrize("path", ["/ws/chat/abc/", "/ws/other/", "/ws/chat/0/", "/nothing"])
async def test_unknown_paths_are_closed_4004(ws, world, path):
    client = await ws(f"{path}?token={world.alice_token}", expect_established=False)
    assert await client.expect_close() == 4004


async def test_deep_json_gets_an_error_frame(ws, world):
    client = await ws("/ws/chat/", token=world.alice_token)
    for depth in (40, 5000):
        await client.send_text('{"type": "message_send", "content": ' + "[" * depth + "]" * depth + "}")
        error = await client.expect("error")
        assert error["code"] in ("too_deep", "invalid_json")
    await client.assert_open()


async def test_frame_over_the_limit_is_closed_4008(ws, world):
    client = await ws("/ws/chat/", token=world.alice_token)
    await client.send_text(json.dumps({"type": "ping", "pad": "x" * (70 * 1024)}))
    assert await client.expect_close() == 4008


async def test_one_room_socket_changes_only_its_rooms_messages(ws, world, make_room):
    other = await orm(make_room, owner=world.alice, members=[world.bob], name="elsewhere")
    message = (await orm(actions.send_message, world.alice, room_id=other["id"], content="there",
                         temp_id=temp_id())).message
    client = await ws(f"/ws/chat/{world.room_id}/", token=world.alice_token)
    for frame in ({"type": "message_edit", "message_id": message["id"], "content": "changed"},
                  {"type": "message_delete", "message_id": message["id"]},
                  {"type": "reaction", "message_id": message["id"], "emoji": "👍", "action": "add"}):
        await client.send(**frame)
        error = await client.expect("error")
        assert error["code"] == "not_found" and error["field"] == "message_id"
    from chat.payloads import message_by_id
    stored = await orm(message_by_id, message["id"])
    assert stored["content"] == "there" and not stored["deleted"] and stored["reactions"] == []
    # the all-rooms socket may
    every = await ws("/ws/chat/", token=world.alice_token)
    await every.send(type="message_edit", message_id=message["id"], content="changed")
    updated = await every.expect("message_updated")
    assert updated["message"]["content"] == "changed"

"""Bad input gets an error frame and the socket stays; floods and oversized frames get 4008;
an idle socket stays open."""
import asyncio
import json

import pytest

from chat.models import Message
from tests.ws.client import orm

pytestmark = pytest.mark.django_db(transaction=True)


async def test_ping_pong(ws, world):
    alice = await ws("/ws/chat/", token=world.alice_token)
    await alice.send(type="ping")
    assert await alice.expect("pong") == {"type": "pong"}


@pytest.mark.parametrize("text, code", [
    ("{not json", "invalid_json"),
    ("", "invalid_json"),
    ("[1, 2]", "invalid_frame"),
    ('"ping"', "invalid_frame"),
    ('{"no_type": 1}', "invalid_frame"),
    ('{"type": 7}', "invalid_frame"),
    ('{"type": "launch_missiles"}', "unknown_type"),
])
async def test_malformed_frames_get_an_error_and_the_socket_stays(ws, world, text, code):
    alice = await ws(f"/ws/chat/{world.room_id}/", token=world.alice_token)
    if text:
        await alice.send_text(text)
    else:
        await alice.comm.send_input({"type": "websocket.receive", "text": ""})
    error = await alice.expect("error")
    assert error["code"] == code and isinstance(error["message"], str)
    await alice.assert_open()


@pytest.mark.parametrize("frame, field", [
    ({"type": "message_send", "content": "no temp id"}, "temp_id"),
    ({"type": "message_send", "content": "bad temp id", "temp_id": "has space"}, "temp_id"),
    ({"type": "message_edit", "content": "x"}, "message_id"),
    ({"type": "message_edit", "message_id": "abc", "content": "x"}, "message_id"),
    ({"type": "message_delete"}, "message_id"),
    ({"type": "reaction", "message_id": 1, "emoji": "👍", "action": "toggle"}, "action"),
    ({"type": "typing"}, None),
    ({"type": "mark_read"}, "message_id"),
    ({"type": "mark_delivered", "message_id": True}, "message_id"),
    ({"type": "sync_request", "last_seq": "ten"}, "last_seq"),
    ({"type": "message_send", "room": "x", "content": "c", "temp_id": "t"}, "room"),
])
async def test_frames_with_missing_or_bad_fields_get_an_error(ws, world, frame, field):
    alice = await ws(f"/ws/chat/{world.room_id}/", token=world.alice_token)
    await alice.send(**frame)
    if frame == {"type": "typing"}:  # is_typing defaults to true: relayed, no error
        await alice.assert_open()
        return
    error = await alice.expect("error")
    assert error.get("field") == field, error
    await alice.assert_open()
    assert await orm(Message.objects.count) == 0


async def test_send_with_bad_content_fails_and_stores_nothing(ws, world, settings):
    settings.CHAT_MAX_CONTENT_CODE_POINTS = 10
    alice = await ws(f"/ws/chat/{world.room_id}/", token=world.alice_token)
    for i, content in enumerate([None, "", "   ", "ა" * 11, "bell\x07"]):
        await alice.send(type="message_send", content=content, temp_id=f"bad-{i}")
        await alice.expect("message_pending", temp_id=f"bad-{i}")
        failed = await alice.expect("message_failed", temp_id=f"bad-{i}")
        assert failed["error"]
    await alice.send(type="message_send", content="ა" * 10, temp_id="ok")  # 10 code points, 30 bytes
    assert (await alice.expect("message_confirmed", temp_id="ok"))["message"]["content"] == "ა" * 10
    assert await orm(Message.objects.count) == 1


async def test_oversized_frame_is_closed_4008(ws, world):
    alice = await ws(f"/ws/chat/{world.room_id}/", token=world.alice_token)
    await alice.send(type="message_send", content="x" * 70_000, temp_id="big")
    assert await alice.expect_close() == 4008
    assert await orm(Message.objects.count) == 0


async def test_frame_limit_counts_bytes_not_characters(ws, world, settings):
    """30,000 Georgian letters are 90,000 bytes on the wire: over the 64 KiB frame limit."""
    assert settings.CHAT_WS_MAX_FRAME_BYTES == 64 * 1024
    alice = await ws(f"/ws/chat/{world.room_id}/", token=world.alice_token)
    await alice.send(type="message_send", content="ა" * 30_000, temp_id="wide")
    assert await alice.expect_close() == 4008
    assert await orm(Message.objects.count) == 0


async def test_a_client_that_slows_down_after_errors_keeps_its_socket(ws, world):
    alice = await ws("/ws/chat/", token=world.alice_token)
    for _ in range(70):  # burst 60: ten too many
        await alice.send(type="ping")
    await alice.settle(0.5)
    pongs = [f for f in alice.inbox if f["type"] == "pong"]
    errors = [f for f in alice.inbox if f["type"] == "error"]
    assert errors and all(e["code"] == "rate_limited" for e in errors)
    assert len(pongs) + len(errors) == 70 and 55 <= len(pongs) <= 65
    assert alice.close_code is None
    await asyncio.sleep(1.0)
    alice.inbox.clear()
    await alice.assert_open()


async def test_a_flood_is_closed_4008(ws, world):
    alice = await ws("/ws/chat/", token=world.alice_token)
    for i in range(300):
        await alice.send_text(json.dumps({"type": "ping", "n": i}))
    code = await alice.expect_close(timeout=10)
    assert code == 4008
    assert any(f["type"] == "error" and f["code"] == "rate_limited" for f in alice.inbox), "errors came first"


async def test_marks_are_cheap_but_not_free(ws, world):
    """A scrolling client's burst of marks is fine; an endless stream of them is still a flood."""
    alice = await ws(f"/ws/chat/{world.room_id}/", token=world.alice_token)
    for _ in range(3000):
        await alice.send(type="mark_read", message_id=1)
    assert await alice.expect_close(timeout=20) == 4008


async def test_an_idle_socket_stays_open(ws, world):
    """Longer than the channel layer's blocking receive (5 s): an idle socket must not be closed."""
    alice = await ws(f"/ws/chat/{world.room_id}/", token=world.alice_token)
    bob = await ws(f"/ws/chat/{world.room_id}/", token=world.bob_token)
    await asyncio.sleep(6.5)
    await alice.settle(0.1)
    await bob.settle(0.1)
    assert alice.close_code is None and bob.close_code is None
    await alice.send(type="message_send", content="still here", temp_id="idle-1")
    await alice.expect("message_confirmed", temp_id="idle-1")
    assert (await bob.expect("message_new"))["message"]["content"] == "still here"
    assert alice.close_code is None and bob.close_code is None

"""A WebSocket frame fuzzer, next to the schemathesis run over HTTP: hypothesis generates frames
of every client type with wrong, missing, huge and nested fields (and frames that are not JSON
objects at all), sent to a one-room and an all-rooms socket in a real room with real messages.

Every frame is answered within the protocol: a reply, an `error` frame naming what is wrong,
silence (typing, receipts), or, for a frame over the size limit only, a 4008 close. Never a
`server_error`, a consumer exception (the communicator's application ends with it), or a socket
that stops answering.
"""
import json
import logging

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chat import actions
from tests.ws.client import orm

pytestmark = pytest.mark.django_db(transaction=True)

FRAME_TYPES = ["message_send", "message_edit", "message_delete", "reaction", "typing", "mark_delivered",
               "mark_read", "sync_request", "ping"]
FIELDS = ["room", "content", "temp_id", "message_id", "emoji", "action", "is_typing", "last_seq", "last_message_id",
          "since_change_seq", "message_type"]

TEXT = st.text(st.characters(codec="utf-8", exclude_categories=()), max_size=30)
SCALAR = (st.none() | st.booleans() | st.integers() | st.integers(min_value=-(2**70), max_value=2**70)
          | st.floats(allow_nan=False, allow_infinity=False) | TEXT)
JSONISH = st.recursive(SCALAR, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
                       max_leaves=8)
DEEP = st.integers(min_value=20, max_value=3000).map(lambda depth: json.loads("[" * min(depth, 900) + "]" * min(depth, 900)))
HUGE = st.sampled_from(["x" * 70_000, "ა" * 30_000, list(range(20_000))])


def frames(known: dict):
    """A frame: mostly a real type, with fields holding real ids, plausible or wrong values,
    nesting or bulk; sometimes a wrong type or no object at all."""
    real = st.sampled_from([known["room"], known["other_room"], known["message"], known["other_message"]])
    plausible = st.sampled_from(["👍", "❤️", "🇬🇪", "add", "remove", "text", "t-1", "ფაზი", True, False, 0, 1])
    value = st.one_of(real, real, plausible, plausible, SCALAR, JSONISH, DEEP)
    fields = st.dictionaries(st.sampled_from(FIELDS), value, max_size=6)
    kind = st.one_of(*[st.sampled_from(FRAME_TYPES)] * 6, JSONISH)
    typed = st.builds(lambda k, body: {**body, "type": k}, kind, fields)
    return st.one_of(*[typed] * 8, JSONISH, st.builds(lambda body, huge: {**body, "pad": huge}, typed, HUGE))


def raw_texts():
    """Text that is not a JSON object: broken JSON, arrays, deep nesting, lone surrogates spelled out."""
    return st.one_of(TEXT, st.just('{"type": "message_send", "content": "\\ud800", "temp_id": "x"}'),
                     st.integers(min_value=1, max_value=5000).map(lambda d: '{"type": "ping", "x": ' + "[" * d + "]" * d + "}"),
                     st.just("[" * 100_000), st.just('{"type": '))


@pytest.fixture
def known(world, make_room):
    other = make_room(owner=world.alice, members=[world.bob], name="fuzz elsewhere")
    message = actions.send_message(world.alice, room_id=world.room_id, content="ფაზი", temp_id="fz-1").message
    other_message = actions.send_message(world.bob, room_id=other["id"], content="other", temp_id="fz-2").message
    return {"room": world.room_id, "other_room": other["id"], "message": message["id"],
            "other_message": other_message["id"]}


FUZZ = settings(max_examples=100, derandomize=True, deadline=None, database=None,
                suppress_health_check=list(HealthCheck))


async def _answered_within_protocol(client, sent_bytes: int, limit: int) -> None:
    """The socket is still serving (a ping gets its pong), or it was closed with 4008 for a frame
    over the size limit. No server_error frame either way."""
    await client.send(type="ping")
    try:
        await client.expect("pong", timeout=10)
    except AssertionError:
        assert client.close_code == 4008 and sent_bytes > limit, (client.close_code, sent_bytes, client.inbox[-3:])
    errors = [f for f in client.inbox if f["type"] == "error"]
    assert not [e for e in errors if e["code"] == "server_error"], errors
    assert all(isinstance(e.get("message"), str) and isinstance(e.get("code"), str) for e in errors)


@pytest.mark.parametrize("path", ["/ws/chat/", "/ws/chat/{room}/"])
@FUZZ
@given(data=st.data())
async def test_frames_of_every_kind_never_break_the_socket(ws, world, known, path, caplog, settings, data):
    settings.CHAT_WS_RATE_BURST = 100_000  # the fuzzer measures answers, not the rate limit
    settings.CHAT_WS_MAX_SOCKETS_PER_USER = 0  # nor the socket cap (a failing example's socket stays open)
    client = await ws(path.format(room=world.room_id), token=world.alice_token)
    caplog.set_level(logging.WARNING, logger="apps.ws")
    for _ in range(data.draw(st.integers(min_value=1, max_value=4))):
        if data.draw(st.integers(min_value=0, max_value=5)):
            text = json.dumps(data.draw(frames(known)), ensure_ascii=False)
        else:
            text = data.draw(raw_texts())
        await client.comm.send_input({"type": "websocket.receive", "text": text})  # "" too
        await _answered_within_protocol(client, len(text.encode("utf-8", "surrogatepass")),
                                        settings.CHAT_WS_MAX_FRAME_BYTES)
        if client.close_code is not None:
            break
    await client.disconnect()
    failures = [r for r in caplog.records if r.levelno >= logging.ERROR or "failed" in r.getMessage()]
    assert not failures, [r.getMessage() for r in failures]


async def test_known_rows_are_untouched_by_a_foreign_one_room_socket(ws, world, known):
    """A control for the fuzzer's real ids: bob's one-room socket cannot change alice's message
    of the other room, whatever the frame."""
    from chat.payloads import message_by_id

    client = await ws(f"/ws/chat/{world.room_id}/", token=world.bob_token)
    await client.send(type="message_delete", message_id=known["other_message"])
    assert (await client.expect("error"))["code"] == "not_found"
    assert not (await orm(message_by_id, known["other_message"]))["deleted"]

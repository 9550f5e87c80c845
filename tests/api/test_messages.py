"""Send, edit, delete, react over HTTP: docs/api.md status codes, exactly-once send, text rules."""
import unicodedata
import uuid
from urllib.parse import quote

import pytest

from chat.models import Message, Reaction, Room
from tests.api.conftest import assert_error

pytestmark = pytest.mark.django_db

MESSAGE_KEYS = {"id", "room", "seq", "user", "content", "type", "temp_id", "created_at", "edited_at", "deleted",
                "reactions", "version"}
GEORGIAN = "გამარჯობა, მსოფლიო! ქართული ანბანი"


def send(client, room_id, content, temp_id=None):
    """temp_id is required over HTTP: a fresh one when the test does not care."""
    body = {"room": room_id, "content": content, "temp_id": temp_id or uuid.uuid4().hex}
    return client.post("/api/chat/messages/", body, format="json")


def test_send_201_then_200_with_the_same_message(trio):
    room_id = trio["room"]["id"]
    first = send(trio["a"], room_id, GEORGIAN, "tmp-1")
    assert first.status_code == 201
    message = first.json()
    assert MESSAGE_KEYS <= set(message)
    assert message["content"] == GEORGIAN and message["temp_id"] == "tmp-1" and message["seq"] == 1
    assert message["user"] == {"id": trio["alice"].id, "username": trio["alice"].username}
    assert message["deleted"] is False and message["reactions"] == [] and message["version"] == 1
    assert message["edited_at"] is None and message["room"] == room_id and message["type"] == "text"

    retry = send(trio["a"], room_id, GEORGIAN, "tmp-1")
    assert retry.status_code == 200 and retry.json() == message
    # even with other content: the original stands
    assert send(trio["a"], room_id, "something else", "tmp-1").json() == message
    assert Message.objects.filter(room_id=room_id).count() == 1
    assert Room.objects.get(id=room_id).last_seq == 1

    # seq stays gap-free across senders
    seqs = [send(trio["b" if i % 2 else "a"], room_id, f"n{i}", None if i % 3 == 0 else f"x{i}").json()["seq"]
            for i in range(10)]
    assert seqs == list(range(2, 12))


def test_text_is_nfc_and_raw_utf8(trio):
    room_id = trio["room"]["id"]
    decomposed = unicodedata.normalize("NFD", "Café ქართული e\u0301")
    assert decomposed != unicodedata.normalize("NFC", decomposed)
    r = send(trio["a"], room_id, decomposed, "nfc")
    assert r.status_code == 201
    assert r.json()["content"] == unicodedata.normalize("NFC", decomposed) == "Café ქართული é"
    assert Message.objects.get(id=r.json()["id"]).content == "Café ქართული é"
    assert "Café ქართული é".encode() in r.content  # raw UTF-8 bytes on the wire
    assert b"\\u" not in r.content
    page = trio["b"].get("/api/chat/messages/", {"room": room_id})
    assert "Café ქართული é".encode() in page.content and b"\\u" not in page.content
    assert page["Content-Type"].startswith("application/json")


def test_limits_count_code_points(trio):
    room_id = trio["room"]["id"]
    exactly = "ა" * 10_000
    assert len(exactly.encode()) == 30_000  # three UTF-8 bytes per Georgian letter
    r = send(trio["a"], room_id, exactly, "max")
    assert r.status_code == 201 and r.json()["content"] == exactly
    assert_error(send(trio["a"], room_id, exactly + "ბ", "over"), 400, "content")
    # a decomposed text that is 10,001 code points but 10,000 after NFC is accepted
    accepted = send(trio["a"], room_id, "e\u0301" + "a" * 9_999, "nfc-fits")
    assert accepted.status_code == 201 and len(accepted.json()["content"]) == 10_000


@pytest.mark.parametrize("content", ["", "   ", "\n\t \n", "\u3000", None, 5, ["x"], {"a": 1}, "nul\x00", "bell\x07"])
def test_bad_content_refused(trio, content):
    r = trio["a"].post("/api/chat/messages/", {"room": trio["room"]["id"], "content": content, "temp_id": "bad"},
                       format="json")
    assert_error(r, 400, "content")
    assert not Message.objects.exists()


@pytest.mark.parametrize("body, field", [
    ({"content": "x"}, "room"),
    ({"room": "abc", "content": "x"}, "room"),
    ({"room": -1, "content": "x"}, "room"),
    ({"room": 2**64, "content": "x"}, "room"),
    ({"room": True, "content": "x"}, "room"),
    ({"room": None, "content": "x"}, "room"),
    ({"content": "x"}, "temp_id"),  # required over HTTP: a retry without it would store twice
    ({"content": "x", "temp_id": None}, "temp_id"),
    ({"content": "x", "temp_id": ""}, "temp_id"),
    ({"content": "x", "temp_id": "has space"}, "temp_id"),
    ({"content": "x", "temp_id": "x" * 65}, "temp_id"),
    ({"content": "x", "temp_id": 7}, "temp_id"),
])
def test_bad_send_input(trio, body, field):
    body = {"room": trio["room"]["id"], **body} if "room" not in body and field != "room" else body
    assert_error(trio["a"].post("/api/chat/messages/", body, format="json"), 400, field)


def test_non_member_cannot_send_or_read(trio):
    room_id = trio["room"]["id"]
    assert_error(send(trio["c"], room_id, "let me in", "c1"), 404, "room")
    assert_error(send(trio["c"], 999999999, "nowhere", "c2"), 404, "room")
    assert_error(trio["c"].get("/api/chat/messages/", {"room": room_id}), 404, "room")
    assert not Message.objects.exists() and Room.objects.get(id=room_id).last_seq == 0


def test_edit_author_only(trio):
    room_id = trio["room"]["id"]
    message = send(trio["a"], room_id, "პირველი ვერსია", "e1").json()
    r = trio["a"].patch(f"/api/chat/messages/{message['id']}/", {"content": "მეორე ვერსია"}, format="json")
    assert r.status_code == 200
    edited = r.json()
    assert edited["content"] == "მეორე ვერსია" and edited["version"] == 2 and edited["edited_at"]
    assert edited["seq"] == message["seq"] and edited["id"] == message["id"]
    assert Message.objects.get(id=message["id"]).change_seq > message["change_seq"]
    assert_error(trio["b"].patch(f"/api/chat/messages/{message['id']}/", {"content": "mine now"}, format="json"), 403)
    assert_error(trio["c"].patch(f"/api/chat/messages/{message['id']}/", {"content": "x"}, format="json"), 404)
    assert_error(trio["a"].patch(f"/api/chat/messages/{message['id']}/", {"content": "  "}, format="json"),
                 400, "content")
    assert_error(trio["a"].patch(f"/api/chat/messages/{message['id']}/", {}, format="json"), 400, "content")
    assert_error(trio["a"].patch("/api/chat/messages/999999999/", {"content": "x"}, format="json"), 404)
    assert Message.objects.get(id=message["id"]).content == "მეორე ვერსია"


def test_delete_is_soft_and_author_only(trio):
    room_id = trio["room"]["id"]
    message = send(trio["a"], room_id, "წასაშლელი", "d1").json()
    later = send(trio["a"], room_id, "stays", "d2").json()
    assert_error(trio["b"].delete(f"/api/chat/messages/{message['id']}/"), 403)
    assert_error(trio["c"].delete(f"/api/chat/messages/{message['id']}/"), 404)
    r = trio["a"].delete(f"/api/chat/messages/{message['id']}/")
    assert r.status_code == 204 and r.content == b""
    page = trio["b"].get("/api/chat/messages/", {"room": room_id}).json()
    gone, kept = page["messages"]
    assert gone["id"] == message["id"] and gone["deleted"] is True and gone["content"] == ""
    assert gone["seq"] == 1 and gone["version"] == 2 and kept["id"] == later["id"]
    assert "წასაშლელი".encode() not in trio["b"].get("/api/chat/messages/", {"room": room_id}).content
    assert_error(trio["a"].delete(f"/api/chat/messages/{message['id']}/"), 409)
    assert_error(trio["a"].patch(f"/api/chat/messages/{message['id']}/", {"content": "back"}, format="json"), 409)


def test_reactions_idempotent(trio):
    room_id = trio["room"]["id"]
    message = send(trio["a"], room_id, "რეაქცია", "r1").json()
    url = f"/api/chat/messages/{message['id']}/reactions/{quote('👍')}/"
    first = trio["b"].put(url)
    assert first.status_code == 200
    assert first.json()["reactions"] == [{"emoji": "👍", "count": 1, "users": [trio["bob"].id]}]
    second = trio["b"].put(url)
    assert second.status_code == 200 and second.json() == first.json()
    assert Reaction.objects.filter(message_id=message["id"]).count() == 1
    both = trio["a"].put(url).json()
    assert both["reactions"] == [{"emoji": "👍", "count": 2, "users": [trio["bob"].id, trio["alice"].id]}]
    removed = trio["b"].delete(url)
    assert removed.status_code == 200
    assert removed.json()["reactions"] == [{"emoji": "👍", "count": 1, "users": [trio["alice"].id]}]
    again = trio["b"].delete(url)
    assert again.status_code == 200 and again.json() == removed.json()
    heart = trio["b"].put(f"/api/chat/messages/{message['id']}/reactions/{quote('❤️')}/")
    assert heart.status_code == 200 and "❤️".encode() in heart.content
    assert_error(trio["c"].put(url), 404)
    assert_error(trio["b"].put(f"/api/chat/messages/{message['id']}/reactions/abc/"), 400, "emoji")
    assert_error(trio["b"].put(f"/api/chat/messages/{message['id']}/reactions/{quote('👍 👍')}/"), 400, "emoji")
    assert_error(trio["b"].put(f"/api/chat/messages/{message['id']}/reactions/{'★' * 17}/"), 400, "emoji")
    assert_error(trio["b"].put(f"/api/chat/messages/999999999/reactions/{quote('👍')}/"), 404)
    trio["a"].delete(f"/api/chat/messages/{message['id']}/")
    assert_error(trio["b"].put(url), 409)


def test_malformed_bodies_are_4xx(trio):
    a = trio["a"]
    assert_error(a.post("/api/chat/messages/", b"{", content_type="application/json"), 400)
    assert_error(a.post("/api/chat/messages/", b"[1]", content_type="application/json"), 400, "non_field_errors")
    assert a.post("/api/chat/messages/", "room=1", content_type="application/x-www-form-urlencoded").status_code == 415
    assert_error(a.post("/api/chat/messages/", b'"text"', content_type="application/json"), 400)


@pytest.mark.parametrize("path, raw, field", [
    ("/api/chat/messages/", b'{"room": ROOM, "content": "a\\ud800b", "temp_id": "s1"}', "content"),
    ("/api/chat/rooms/", b'{"name": "x\\udfff"}', "name"),
    ("/api/chat/rooms/", b'{"name": "ok", "members": ["\\udfff"]}', "members"),
    ("/api/auth/token/", b'{"username": "x\\udfff", "password": "p"}', "username"),
    ("/api/auth/register/", b'{"username": "xyzw", "password": "long-enough-9\\udfff"}', "password"),
    ("/api/chat/messages/", b'{"room": ROOM, "content": "ok", "\\ud800": 1}', "non_field_errors"),
])
def test_lone_surrogates_in_json_are_400(trio, path, raw, field):
    """JSON can spell a lone surrogate; it is not text PostgreSQL or UTF-8 can hold: 400, not 500."""
    raw = raw.replace(b"ROOM", str(trio["room"]["id"]).encode())
    assert_error(trio["a"].post(path, raw, content_type="application/json"), 400, field)
    assert not Message.objects.exists()

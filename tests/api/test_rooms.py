import pytest

from tests.api.conftest import assert_error

pytestmark = pytest.mark.django_db

ROOM_KEYS = {"id", "name", "kind", "members", "last_message", "last_seq", "unread_count"}


def test_create_room_creator_joins(trio):
    r = trio["a"].post("/api/chat/rooms/", {"name": "ქართული ოთახი", "members": [trio["bob"].id]}, format="json")
    assert r.status_code == 201
    room = r.json()
    assert ROOM_KEYS <= set(room) and room["name"] == "ქართული ოთახი" and room["kind"] == "group"
    assert {m["id"] for m in room["members"]} == {trio["alice"].id, trio["bob"].id}
    assert room["last_message"] is None and room["last_seq"] == 0 and room["unread_count"] == 0
    assert "ქართული ოთახი".encode() in r.content and b"\\u" not in r.content
    # bob sees it; carol gets 404 for it
    assert trio["b"].get(f"/api/chat/rooms/{room['id']}/").status_code == 200
    assert_error(trio["c"].get(f"/api/chat/rooms/{room['id']}/"), 404)
    assert_error(trio["c"].get("/api/chat/rooms/999999999/"), 404)


def test_direct_room_is_reused(trio):
    r = trio["a"].post("/api/chat/rooms/", {"kind": "direct", "members": [trio["carol"].id]}, format="json")
    assert r.status_code == 201
    again = trio["c"].post("/api/chat/rooms/", {"kind": "direct", "members": [trio["alice"].id]}, format="json")
    assert again.status_code == 200 and again.json()["id"] == r.json()["id"]
    assert_error(trio["a"].post(f"/api/chat/rooms/{r.json()['id']}/members/", {"user_id": trio["bob"].id},
                                format="json"), 403, "user_id")


@pytest.mark.parametrize("body, field", [
    ({"kind": "channel"}, "kind"),
    ({"members": "1,2"}, "members"),
    ({"members": [999999999]}, "members"),
    ({"members": ["x"]}, "members"),
    ({"members": [True]}, "members"),
    ({"name": 5}, "name"),
    ({"name": "x" * 201}, "name"),
    ({"name": "bell\x07"}, "name"),
    ({"kind": "direct", "members": []}, "members"),
    ("just a string", "non_field_errors"),
])
def test_create_room_bad_input(trio, body, field):
    assert_error(trio["a"].post("/api/chat/rooms/", body, format="json"), 400, field)


def test_add_member(trio):
    room_id = trio["room"]["id"]
    r = trio["a"].post(f"/api/chat/rooms/{room_id}/members/", {"user_id": trio["carol"].id}, format="json")
    assert r.status_code == 201 and r.json()["id"] == trio["carol"].id
    assert trio["c"].get(f"/api/chat/rooms/{room_id}/").status_code == 200
    assert_error(trio["a"].post(f"/api/chat/rooms/{room_id}/members/", {"user_id": 999999999}, format="json"),
                 400, "user_id")
    assert_error(trio["a"].post(f"/api/chat/rooms/{room_id}/members/", {}, format="json"), 400, "user_id")


def test_non_member_cannot_add_members(trio):
    room_id = trio["room"]["id"]
    assert_error(trio["c"].post(f"/api/chat/rooms/{room_id}/members/", {"user_id": trio["carol"].id},
                                format="json"), 404)


def test_rooms_list_with_unread_counts(trio):
    room_id = trio["room"]["id"]
    ids = [trio["a"].post("/api/chat/messages/", {"room": room_id, "content": f"გამარჯობა {i}", "temp_id": f"t{i}"},
                          format="json").json()["id"] for i in range(4)]
    [bob_room] = trio["b"].get("/api/chat/rooms/").json()
    assert bob_room["unread_count"] == 4 and bob_room["last_seq"] == 4
    assert bob_room["last_message"]["id"] == ids[-1] and bob_room["last_message"]["content"] == "გამარჯობა 3"
    assert trio["a"].get("/api/chat/rooms/").json()[0]["unread_count"] == 0
    assert trio["c"].get("/api/chat/rooms/").json() == []

    r = trio["b"].post(f"/api/chat/rooms/{room_id}/read/", {"message_id": ids[1]}, format="json")
    assert r.status_code == 204 and r.content == b""
    assert trio["b"].get("/api/chat/rooms/").json()[0]["unread_count"] == 2
    # backwards read is accepted and changes nothing (watermark)
    assert trio["b"].post(f"/api/chat/rooms/{room_id}/read/", {"message_id": ids[0]}, format="json").status_code == 204
    detail = trio["b"].get(f"/api/chat/rooms/{room_id}/").json()
    assert detail["unread_count"] == 2
    me = next(m for m in detail["members"] if m["id"] == trio["bob"].id)
    assert me["last_read_seq"] == 2 and me["last_delivered_seq"] == 2  # read implies delivered
    trio["b"].post(f"/api/chat/rooms/{room_id}/read/", {"message_id": ids[3]}, format="json")
    assert trio["b"].get("/api/chat/rooms/").json()[0]["unread_count"] == 0


def test_mark_read_errors(trio):
    room_id = trio["room"]["id"]
    mid = trio["a"].post("/api/chat/messages/", {"room": room_id, "content": "x", "temp_id": "t"},
                         format="json").json()["id"]
    assert_error(trio["c"].post(f"/api/chat/rooms/{room_id}/read/", {"message_id": mid}, format="json"), 404)
    assert_error(trio["b"].post(f"/api/chat/rooms/{room_id}/read/", {}, format="json"), 400, "message_id")
    assert_error(trio["b"].post(f"/api/chat/rooms/{room_id}/read/", {"message_id": "x"}, format="json"),
                 400, "message_id")
    assert_error(trio["b"].post(f"/api/chat/rooms/{room_id}/read/", {"message_id": 999999999}, format="json"),
                 404, "message_id")


def test_leave_room(trio):
    room_id = trio["room"]["id"]
    assert_error(trio["b"].delete(f"/api/chat/rooms/{room_id}/members/{trio['alice'].id}/"), 403, "user_id")
    assert trio["b"].delete(f"/api/chat/rooms/{room_id}/members/{trio['bob'].id}/").status_code == 204
    assert_error(trio["b"].get(f"/api/chat/rooms/{room_id}/"), 404)


def test_the_room_says_whether_this_member_muted_it(trio):
    room = trio["a"].post("/api/chat/rooms/", {"name": "muted", "members": [trio["bob"].id]}, format="json").json()
    assert room["muted"] is False
    assert trio["a"].put(f"/api/chat/rooms/{room['id']}/mute/").json() == {"room": room["id"], "muted": True}
    mine = next(r for r in trio["a"].get("/api/chat/rooms/").json() if r["id"] == room["id"])
    theirs = next(r for r in trio["b"].get("/api/chat/rooms/").json() if r["id"] == room["id"])
    assert mine["muted"] is True and theirs["muted"] is False  # a mute is one member's
    assert trio["a"].get(f"/api/chat/rooms/{room['id']}/").json()["muted"] is True
    trio["a"].delete(f"/api/chat/rooms/{room['id']}/mute/")
    assert trio["a"].get(f"/api/chat/rooms/{room['id']}/").json()["muted"] is False

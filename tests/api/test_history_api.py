"""GET /api/chat/messages/: cursor pages over HTTP, limits, bad cursors, constant query counts."""
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from chat import actions
from chat.models import Message, Reaction
from tests.api.conftest import assert_error

pytestmark = pytest.mark.django_db

N = 10_000


@pytest.fixture
def big(trio):
    room_id = trio["room"]["id"]
    actions.import_messages(room_id, [((trio["alice"], trio["bob"])[i % 2].id, f"ისტორია {i} history")
                                      for i in range(N)])
    ids = list(Message.objects.filter(room_id=room_id).order_by("seq").values_list("id", flat=True))
    return trio, room_id, ids


def page(client, **params):
    r = client.get("/api/chat/messages/", params)
    assert r.status_code == 200, r.content[:300]
    return r.json()


def test_walk_10000_backwards_then_forwards_over_http(big):
    trio, room_id, ids = big
    b = trio["b"]
    newest = page(b, room=room_id, limit=100)
    assert set(newest) == {"messages", "has_more", "cursor"}
    seen = [m["id"] for m in newest["messages"]]
    cursor, has_more = newest["cursor"], newest["has_more"]
    while has_more:
        p = page(b, room=room_id, limit=100, before=cursor)
        assert p["cursor"] == p["messages"][0]["id"]
        seen = [m["id"] for m in p["messages"]] + seen
        cursor, has_more = p["cursor"], p["has_more"]
    assert seen == ids  # each exactly once, in order

    seen = []
    p = page(b, room=room_id, limit=100, around=ids[0])
    assert p["has_more_before"] is False and p["messages"][0]["id"] == ids[0]
    seen = [m["id"] for m in p["messages"]]
    cursor, has_more = seen[-1], p["has_more_after"]
    while has_more:
        p = page(b, room=room_id, limit=100, after=cursor)
        assert p["cursor"] == p["messages"][-1]["id"]
        seen += [m["id"] for m in p["messages"]]
        cursor, has_more = p["cursor"], p["has_more"]
    assert seen == ids
    assert [m["seq"] for m in p["messages"]][-1] == N


def test_limits_and_newest_page(big):
    trio, room_id, ids = big
    default = page(trio["a"], room=room_id)
    assert [m["id"] for m in default["messages"]] == ids[-50:]
    assert default["has_more"] is True and default["cursor"] == ids[-50]
    assert len(page(trio["a"], room=room_id, limit=100)["messages"]) == 100
    assert len(page(trio["a"], room=room_id, limit=1)["messages"]) == 1
    assert_error(trio["a"].get("/api/chat/messages/", {"room": room_id, "limit": 101}), 400, "limit")
    assert_error(trio["a"].get("/api/chat/messages/", {"room": room_id, "limit": 0}), 400, "limit")


def test_around_over_http(big):
    trio, room_id, ids = big
    p = page(trio["a"], room=room_id, around=ids[7000], limit=21)
    got = [m["id"] for m in p["messages"]]
    start = ids.index(got[0])
    assert ids[7000] in got and got == ids[start:start + 21] and start == 7000 - 10
    assert len(got) == 21 and p["has_more_before"] is True and p["has_more_after"] is True
    end = page(trio["a"], room=room_id, around=ids[-1], limit=10)
    assert end["has_more_after"] is False and end["messages"][-1]["id"] == ids[-1]


@pytest.mark.parametrize("params, field", [
    ({}, "room"),
    ({"room": "x"}, "room"),
    ({"room": "0"}, "room"),
    ({"room": "1.5"}, "room"),
    ({"room": "99999999999999999999999"}, "room"),
    ({"limit": "ten"}, "limit"),
    ({"limit": "-1"}, "limit"),
    ({"limit": "1000"}, "limit"),
    ({"before": "x"}, "before"),
    ({"after": ""}, "after"),
    ({"around": "-4"}, "around"),
    ({"before": "١٢"}, "before"),
    ({"before": "999999999"}, "before"),
    ({"after": "999999999"}, "after"),
    ({"around": "999999999"}, "around"),
])
def test_bad_page_params_name_the_field(trio, params, field):
    query = {"room": trio["room"]["id"], **params} if field != "room" else params
    assert_error(trio["a"].get("/api/chat/messages/", query), 400, field)


def test_two_cursors_refused(trio):
    r = trio["a"].get("/api/chat/messages/", {"room": trio["room"]["id"], "before": 1, "after": 2})
    data = assert_error(r, 400)
    assert set(data["errors"]) & {"before", "after"}


def test_cursor_of_another_room_is_400(trio, make_room):
    other = make_room(owner=trio["alice"])
    mid = trio["a"].post("/api/chat/messages/", {"room": other["id"], "content": "x", "temp_id": "o"},
                         format="json").json()["id"]
    assert_error(trio["a"].get("/api/chat/messages/", {"room": trio["room"]["id"], "before": mid}), 400, "before")


def test_query_count_per_page_is_constant(trio, make_user, api_client):
    room_id = trio["room"]["id"]
    extra = [make_user() for _ in range(15)]
    for u in extra:
        trio["a"].post(f"/api/chat/rooms/{room_id}/members/", {"user_id": u.id}, format="json")
    people = [trio["alice"], trio["bob"], *extra]
    actions.import_messages(room_id, [(trio["alice"].id, f"one sender {i}") for i in range(200)])
    actions.import_messages(room_id, [(people[i % len(people)].id, f"many senders {i}") for i in range(200)])
    ids = list(Message.objects.filter(room_id=room_id).order_by("seq").values_list("id", flat=True))
    Reaction.objects.bulk_create([Reaction(message_id=mid, user_id=u.id, emoji=e)
                                  for mid in ids[200:] for u in people[:8] for e in ("👍", "🔥")])

    def count(**params):
        with CaptureQueriesContext(connection) as ctx:
            body = page(trio["b"], room=room_id, limit=100, **params)
        return len(ctx.captured_queries), body

    quiet, quiet_page = count(before=ids[150])
    busy, busy_page = count(before=ids[-1])
    assert all(m["reactions"] == [] for m in quiet_page["messages"])
    assert all(len(m["reactions"]) == 2 for m in busy_page["messages"])
    assert len({m["user"]["id"] for m in busy_page["messages"]}) == len(people)
    assert quiet == busy
    assert count(after=ids[10])[0] == busy == count(after=ids[250])[0]
    assert count(around=ids[50])[0] == count(around=ids[300])[0]
    newest, _ = count()
    assert newest == busy - 1 and newest <= 4  # token, membership, messages+senders, reactions

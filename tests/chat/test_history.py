"""History pages (chat.queries.history_page) on the real PostgreSQL: cursors, order, has_more,
and a constant number of queries per page whatever the reactions and senders on it."""
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from chat import actions, queries
from chat.errors import InvalidInput, NotFound
from chat.models import Message, Reaction

pytestmark = pytest.mark.django_db

N = 10_000


@pytest.fixture
def big_room(make_user, make_room):
    users = [make_user() for _ in range(3)]
    room = make_room(owner=users[0], members=users[1:])
    rows = [(users[i % 3].id, f"შეტყობინება {i} message") for i in range(N)]
    actions.import_messages(room["id"], rows)
    ids = list(Message.objects.filter(room_id=room["id"]).order_by("seq").values_list("id", flat=True))
    return users, room, ids


def test_walk_backwards_and_forwards_returns_each_message_once_in_order(big_room):
    users, room, ids = big_room
    owner = users[0]
    assert len(ids) == N

    # Backwards from the newest page, `before` = the previous page's cursor.
    page = queries.history_page(owner.id, room["id"], limit=100)
    seen = list(reversed([m["id"] for m in page["messages"]]))
    pages = 1
    while page["has_more"]:
        assert page["cursor"] == page["messages"][0]["id"]
        page = queries.history_page(owner.id, room["id"], limit=100, before=page["cursor"])
        seqs = [m["seq"] for m in page["messages"]]
        assert seqs == sorted(seqs), "every page is chronological"
        seen.extend(reversed([m["id"] for m in page["messages"]]))
        pages += 1
    assert pages == N // 100
    assert list(reversed(seen)) == ids

    # Forwards from the oldest message, `after` = the previous page's cursor.
    first = queries.history_page(owner.id, room["id"], limit=1, around=ids[0])
    assert [m["id"] for m in first["messages"]] == [ids[0]]
    seen = [ids[0]]
    cursor, has_more = ids[0], True
    while has_more:
        page = queries.history_page(owner.id, room["id"], limit=97, after=cursor)
        got = [m["id"] for m in page["messages"]]
        seen.extend(got)
        assert page["cursor"] == got[-1]
        cursor, has_more = page["cursor"], page["has_more"]
    assert seen == ids
    assert [m["seq"] for m in page["messages"]][-1] == N


def test_page_edges(big_room):
    users, room, ids = big_room
    uid = users[1].id
    newest = queries.history_page(uid, room["id"], limit=50)
    assert [m["seq"] for m in newest["messages"]] == list(range(N - 49, N + 1))
    assert newest["has_more"] is True and newest["cursor"] == ids[N - 50]

    # before the 5th message: four older ones, nothing beyond.
    page = queries.history_page(uid, room["id"], limit=10, before=ids[4])
    assert [m["id"] for m in page["messages"]] == ids[:4]
    assert page["has_more"] is False and page["cursor"] == ids[0]
    # before the very first message: empty, cursor None.
    page = queries.history_page(uid, room["id"], limit=10, before=ids[0])
    assert page == {"messages": [], "has_more": False, "cursor": None}
    # exactly `limit` older ones: has_more is False.
    page = queries.history_page(uid, room["id"], limit=10, before=ids[10])
    assert len(page["messages"]) == 10 and page["has_more"] is False
    page = queries.history_page(uid, room["id"], limit=10, before=ids[11])
    assert len(page["messages"]) == 10 and page["has_more"] is True

    # after the newest: empty.
    page = queries.history_page(uid, room["id"], limit=10, after=ids[-1])
    assert page == {"messages": [], "has_more": False, "cursor": None}
    page = queries.history_page(uid, room["id"], limit=10, after=ids[-11])
    assert [m["id"] for m in page["messages"]] == ids[-10:] and page["has_more"] is False
    assert page["cursor"] == ids[-1]


def test_around_page(big_room):
    users, room, ids = big_room
    uid = users[0].id
    middle = ids[5000]
    page = queries.history_page(uid, room["id"], limit=11, around=middle)
    got = [m["id"] for m in page["messages"]]
    assert got == ids[4995:5006]
    assert middle in got
    assert page["has_more_before"] is True and page["has_more_after"] is True
    assert page["has_more"] is True
    assert page["cursor"] == got[0]

    # near the start: nothing before the first message.
    page = queries.history_page(uid, room["id"], limit=10, around=ids[0])
    assert [m["id"] for m in page["messages"]][0] == ids[0]
    assert page["has_more_before"] is False and page["has_more_after"] is True
    # at the end: nothing after the last message.
    page = queries.history_page(uid, room["id"], limit=10, around=ids[-1])
    got = [m["id"] for m in page["messages"]]
    assert got[-1] == ids[-1] and got == ids[-len(got):]
    assert page["has_more_before"] is True and page["has_more_after"] is False


def test_small_room_around_sees_everything(make_user, make_room):
    user = make_user()
    room = make_room(owner=user)
    sent = [actions.send_message(user, room_id=room["id"], content=f"m{i}", temp_id=f"t{i}").message["id"] for i in range(5)]
    page = queries.history_page(user.id, room["id"], limit=100, around=sent[2])
    assert [m["id"] for m in page["messages"]] == sent
    assert page["has_more_before"] is False and page["has_more_after"] is False and page["has_more"] is False


def test_cursor_from_another_room_is_refused(make_user, make_room):
    user = make_user()
    room_a, room_b = make_room(owner=user), make_room(owner=user)
    other = actions.send_message(user, room_id=room_b["id"], content="elsewhere", temp_id="x").message["id"]
    for field in ("before", "after", "around"):
        with pytest.raises(InvalidInput) as info:
            queries.history_page(user.id, room_a["id"], limit=10, **{field: other})
        assert info.value.field == field


def test_non_member_cannot_read(make_user, make_room):
    room = make_room()
    with pytest.raises(NotFound):
        queries.history_page(make_user().id, room["id"], limit=10)


def _page_queries(user_id, room_id, **cursor):
    with CaptureQueriesContext(connection) as ctx:
        page = queries.history_page(user_id, room_id, limit=100, **cursor)
    return len(ctx.captured_queries), page


def test_queries_per_page_are_constant_whatever_the_reactions_and_senders(make_user, make_room):
    users = [make_user() for _ in range(20)]
    room = make_room(owner=users[0], members=users[1:])
    # 300 messages: the first 150 from one sender and no reactions, the newest 150 from 20
    # senders with many reactions each.
    actions.import_messages(room["id"], [(users[0].id, f"quiet {i}") for i in range(150)])
    actions.import_messages(room["id"], [(users[i % 20].id, f"busy {i}") for i in range(150)])
    ids = list(Message.objects.filter(room_id=room["id"]).order_by("seq").values_list("id", flat=True))
    Reaction.objects.bulk_create([
        Reaction(message_id=mid, user_id=u.id, emoji=emoji)
        for mid in ids[150:] for u in users[:10] for emoji in ("👍", "❤️", "😂")
    ])
    owner = users[0].id

    quiet_count, quiet = _page_queries(owner, room["id"], before=ids[101])
    busy_count, busy_page = _page_queries(owner, room["id"], before=ids[-1])
    assert all(len(m["reactions"]) == 3 for m in busy_page["messages"])
    assert busy_page["messages"][-1]["reactions"][0]["count"] == 10
    assert len({m["user"]["id"] for m in busy_page["messages"]}) == 20
    assert all(m["reactions"] == [] for m in quiet["messages"])
    assert len({m["user"]["id"] for m in quiet["messages"]}) == 1
    assert busy_count == quiet_count

    newest_count, _ = _page_queries(owner, room["id"])
    assert newest_count == busy_count - 1  # no cursor to look up
    assert newest_count <= 3  # membership, messages (with senders), reactions
    for cursor in ({"after": ids[10]}, {"after": ids[160]}, {"before": ids[250]}):
        count, _ = _page_queries(owner, room["id"], **cursor)
        assert count == busy_count
    around_quiet, _ = _page_queries(owner, room["id"], around=ids[50])
    around_busy, _ = _page_queries(owner, room["id"], around=ids[250])
    assert around_quiet == around_busy

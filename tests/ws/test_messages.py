"""Send (pending -> confirmed, exactly once), fan-out to every other connection, HTTP sends,
edits / deletes / reactions, typing."""
import asyncio
import threading

import pytest

from chat.models import Message
from tests.ws.client import orm, temp_id, until

pytestmark = pytest.mark.django_db(transaction=True)

GEORGIAN = "გამარჯობა, მსოფლიო"


async def test_send_answers_pending_then_confirmed(ws, world):
    alice = await ws(f"/ws/chat/{world.room_id}/", token=world.alice_token)
    tid = temp_id()
    await alice.send(type="message_send", content=GEORGIAN, temp_id=tid)
    pending = await alice.expect("message_pending")
    assert pending == {"type": "message_pending", "temp_id": tid, "status": "sending"}
    confirmed = await alice.expect("message_confirmed", temp_id=tid)
    message = confirmed["message"]
    assert message["content"] == GEORGIAN
    assert message["seq"] == 1 and message["room"] == world.room_id
    assert message["user"] == {"id": world.alice.id, "username": world.alice.username}
    assert message["temp_id"] == tid and message["deleted"] is False and message["reactions"] == []
    # pending went out first; UTF-8 as is, never \u escapes
    raw_types = [frame for frame in alice.raw if tid in frame]
    assert '"message_pending"' in raw_types[0] and '"message_confirmed"' in raw_types[1]
    assert GEORGIAN in raw_types[1] and "\\u" not in raw_types[1]
    stored = await orm(lambda: list(Message.objects.filter(room_id=world.room_id).values_list("id", "content", "seq")))
    assert stored == [(message["id"], GEORGIAN, 1)]


async def test_send_on_all_rooms_socket_needs_a_room(ws, world):
    alice = await ws("/ws/chat/", token=world.alice_token)
    await alice.send(type="message_send", content="x", temp_id=temp_id())
    error = await alice.expect("error")
    assert error["field"] == "room"
    await alice.send(type="message_send", room=world.room_id, content="with room", temp_id="r-1")
    confirmed = await alice.expect("message_confirmed", temp_id="r-1")
    assert confirmed["message"]["room"] == world.room_id
    assert await orm(Message.objects.filter(room_id=world.room_id).count) == 1


async def test_send_to_a_room_of_others_is_refused(ws, world, make_room, make_user):
    other = await orm(lambda: make_room(owner=make_user(), name="not alice's"))
    alice = await ws("/ws/chat/", token=world.alice_token)
    await alice.send(type="message_send", room=other["id"], content="intrude", temp_id="i-1")
    error = await alice.expect("error")
    assert error["code"] == "forbidden" and error["temp_id"] == "i-1"
    assert await orm(Message.objects.filter(room_id=other["id"]).count) == 0
    await alice.assert_open()


async def test_retried_temp_id_confirms_the_original_and_broadcasts_nothing(ws, world):
    alice = await ws(f"/ws/chat/{world.room_id}/", token=world.alice_token)
    bob = await ws(f"/ws/chat/{world.room_id}/", token=world.bob_token)
    tid = temp_id()
    await alice.send(type="message_send", content="once", temp_id=tid)
    first = (await alice.expect("message_confirmed", temp_id=tid))["message"]
    await alice.send(type="message_send", content="once", temp_id=tid)
    await alice.expect("message_pending", temp_id=tid)
    again = (await alice.expect("message_confirmed", temp_id=tid))["message"]
    assert again["id"] == first["id"] and again["seq"] == first["seq"] == 1
    # a retry from another connection of the same user (a reload, a second tab) is the same send
    alice2 = await ws("/ws/chat/", token=world.alice_token)
    await alice2.send(type="message_send", room=world.room_id, content="once", temp_id=tid)
    assert (await alice2.expect("message_confirmed", temp_id=tid))["message"]["id"] == first["id"]
    news = await bob.take_all("message_new", quiet=0.6)
    assert [f["message"]["id"] for f in news] == [first["id"]]
    assert await alice2.take_all("message_new", quiet=0.1) == []
    assert await orm(Message.objects.filter(room_id=world.room_id).count) == 1


async def test_message_new_reaches_every_other_connection_exactly_once(ws, world, make_user, token_for):
    dave = await orm(make_user)
    dave_token = await orm(token_for, dave)
    sender = await ws("/ws/chat/", token=world.alice_token, name="alice-all")
    alice_tab = await ws(f"/ws/chat/{world.room_id}/", token=world.alice_token, name="alice-room")
    bob_room = await ws(f"/ws/chat/{world.room_id}/", token=world.bob_token, name="bob-room")
    bob_all = await ws("/ws/chat/", token=world.bob_token, name="bob-all")
    outsider = await ws("/ws/chat/", token=dave_token, name="dave")
    sent = []
    for i in range(5):
        tid = f"fan-{i}"
        await sender.send(type="message_send", room=world.room_id, content=f"hello {i}", temp_id=tid)
        sent.append((await sender.expect("message_confirmed", temp_id=tid))["message"])
    assert [m["seq"] for m in sent] == [1, 2, 3, 4, 5]
    for client in (alice_tab, bob_room, bob_all):
        news = await client.take_all("message_new", quiet=0.5)
        assert [f["message"]["id"] for f in news] == [m["id"] for m in sent], client.name
        assert [f["message"]["content"] for f in news] == [f"hello {i}" for i in range(5)]
    assert await sender.take_all("message_new", quiet=0.1) == [], "not to the sending socket"
    assert await outsider.take_all("message_new", quiet=0.1) == [], "not to non-members"


async def test_http_send_reaches_sockets(ws, world, api_client):
    alice = await ws(f"/ws/chat/{world.room_id}/", token=world.alice_token)
    bob = await ws("/ws/chat/", token=world.bob_token)
    body = {"room": world.room_id, "content": GEORGIAN, "temp_id": "http-1"}
    response = await orm(lambda: api_client(world.bob).post("/api/chat/messages/", body, format="json"))
    assert response.status_code == 201, response.content
    message_id = response.json()["id"]
    for client in (alice, bob):  # an HTTP send has no sending socket: every socket hears it
        frame = await client.expect("message_new")
        assert frame["message"]["id"] == message_id and frame["message"]["content"] == GEORGIAN
    again = await orm(lambda: api_client(world.bob).post("/api/chat/messages/", body, format="json"))
    assert again.status_code == 200 and again.json()["id"] == message_id
    assert await alice.take_all("message_new", quiet=0.5) == []
    # and the same temp_id over the socket confirms the HTTP message
    bob_room = await ws(f"/ws/chat/{world.room_id}/", token=world.bob_token)
    await bob_room.send(type="message_send", content=GEORGIAN, temp_id="http-1")
    assert (await bob_room.expect("message_confirmed", temp_id="http-1"))["message"]["id"] == message_id
    assert await alice.take_all("message_new", quiet=0.3) == []


async def test_edit_delete_and_reactions_send_message_updated(ws, world):
    alice = await ws(f"/ws/chat/{world.room_id}/", token=world.alice_token)
    bob = await ws("/ws/chat/", token=world.bob_token)
    await alice.send(type="message_send", content="first draft", temp_id="e-1")
    message = (await alice.expect("message_confirmed", temp_id="e-1"))["message"]
    await bob.expect("message_new")

    await alice.send(type="message_edit", message_id=message["id"], content="ჩასწორებული")
    for client in (alice, bob):
        updated = (await client.expect("message_updated"))["message"]
        assert updated["id"] == message["id"] and updated["content"] == "ჩასწორებული"
        assert updated["edited_at"] is not None and updated["version"] == 2

    await bob.send(type="reaction", message_id=message["id"], emoji="👍", action="add")
    updated = (await alice.expect("message_updated"))["message"]
    assert updated["reactions"] == [{"emoji": "👍", "count": 1, "users": [world.bob.id]}]
    await bob.expect("message_updated")
    await bob.send(type="reaction", message_id=message["id"], emoji="👍", action="add")  # idempotent
    assert await alice.take_all("message_updated", quiet=0.5) == []
    await bob.send(type="reaction", message_id=message["id"], emoji="👍", action="remove")
    assert (await alice.expect("message_updated"))["message"]["reactions"] == []
    await bob.expect("message_updated")

    await bob.send(type="message_edit", message_id=message["id"], content="not mine")
    error = await bob.expect("error")
    assert error["code"] == "forbidden"
    await bob.assert_open()

    await alice.send(type="message_delete", message_id=message["id"])
    for client in (alice, bob):
        updated = (await client.expect("message_updated"))["message"]
        assert updated["deleted"] is True and updated["content"] == "" and updated["reactions"] == []
    stored = await orm(lambda: Message.objects.get(id=message["id"]))
    assert stored.deleted_at is not None and stored.content == ""
    assert await alice.take_all("message_new", quiet=0.1) == []


async def test_typing_is_relayed_to_others_not_to_the_sender(ws, world):
    alice = await ws(f"/ws/chat/{world.room_id}/", token=world.alice_token)
    bob = await ws("/ws/chat/", token=world.bob_token)
    await alice.send(type="typing", is_typing=True)
    frame = await bob.expect("typing")
    assert frame == {"type": "typing", "room": world.room_id, "user_id": world.alice.id,
                     "username": world.alice.username, "is_typing": True}
    await alice.send(type="typing", is_typing=False)
    assert (await bob.expect("typing"))["is_typing"] is False
    await bob.send(type="typing", room=world.room_id, is_typing=True)
    assert (await alice.expect("typing"))["user_id"] == world.bob.id
    assert await alice.take_all("typing", quiet=0.5) == []
    assert await bob.take_all("typing", quiet=0.1) == []
    await alice.send(type="typing", is_typing="yes")
    assert (await alice.expect("error"))["field"] == "is_typing"


async def test_presence_online_and_offline_between_members(ws, world):
    alice = await ws("/ws/chat/", token=world.alice_token)
    await alice.settle(0.3)
    alice.inbox.clear()
    bob1 = await ws(f"/ws/chat/{world.room_id}/", token=world.bob_token)
    frame = await alice.expect("user_presence", user_id=world.bob.id)
    assert frame["status"] == "online" and frame["username"] == world.bob.username
    bob2 = await ws("/ws/chat/", token=world.bob_token)
    await bob1.disconnect()
    await asyncio.sleep(0.3)
    assert [f for f in await alice.take_all("user_presence", quiet=0.3) if f["user_id"] == world.bob.id] == [], (
        "a second socket opening or the first closing is no presence change")
    await bob2.disconnect()
    frame = await alice.expect("user_presence", user_id=world.bob.id)
    assert frame["status"] == "offline" and frame["username"] == world.bob.username


def _terminate_async_send_sessions() -> int:
    """End the ws send pool's PostgreSQL sessions from the server side (a restart, a failover)."""
    from django.db import connection

    from chat.async_db import APPLICATION_NAME

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                       "WHERE application_name = %s AND datname = current_database()", [APPLICATION_NAME])
        return cursor.fetchone()[0]


async def test_a_send_whose_pooled_connection_died_is_stored_once_by_the_thread_path(ws, world):
    """The loop's send pool (chat/async_db.py) loses its sessions: the send is still stored once,
    confirmed and delivered live, through the thread path, and so is the next one."""
    alice = await ws(f"/ws/chat/{world.room_id}/", token=world.alice_token)
    bob = await ws(f"/ws/chat/{world.room_id}/", token=world.bob_token)
    await alice.send(type="message_send", content="before", temp_id="pool-0")
    await alice.expect("message_confirmed", temp_id="pool-0")
    assert await orm(_terminate_async_send_sessions) >= 1

    for tid in ("pool-1", "pool-2"):
        await alice.send(type="message_send", content=f"after {tid}", temp_id=tid)
        confirmed = await alice.expect("message_confirmed", temp_id=tid, timeout=10)
        delivered = await bob.expect("message_new", timeout=10)
        while delivered["message"]["temp_id"] != tid:
            delivered = await bob.expect("message_new", timeout=10)
        assert delivered["message"]["id"] == confirmed["message"]["id"]
    stored = await orm(lambda: list(Message.objects.filter(room_id=world.room_id).order_by("seq")
                                    .values_list("temp_id", "seq")))
    assert stored == [("pool-0", 1), ("pool-1", 2), ("pool-2", 3)]


def _hold_the_room_row(room_id: int, held: "threading.Event", release: "threading.Event") -> None:
    """A transaction that holds the room's row lock, as a slow commit would."""
    from django.db import connection, transaction

    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT id FROM chat_room WHERE id = %s FOR UPDATE", [room_id])
        held.set()
        release.wait(10)
    connection.close()


async def test_a_send_pool_busy_to_its_last_connection_is_waited_for_not_given_up(ws, world, settings, make_room):
    """Every connection of the send pool at work (PostgreSQL slow for a moment): a send keeps its
    place in the pool's queue, the pool does not rest, and no send takes the thread path."""
    from prometheus_client import REGISTRY

    from chat import async_db

    settings.CHAT_ASYNC_DB_POOL_SIZE, settings.CHAT_ASYNC_DB_WAIT_SECONDS = 1, 0.1
    other_room = (await orm(make_room, owner=world.bob, members=[world.carol], name="another room"))["id"]
    alice = await ws(f"/ws/chat/{world.room_id}/", token=world.alice_token)
    bob = await ws(f"/ws/chat/{other_room}/", token=world.bob_token)
    busy_before = REGISTRY.get_sample_value("chat_db_send_pool_busy_total") or 0.0
    held, release = threading.Event(), threading.Event()
    holder = asyncio.create_task(orm(_hold_the_room_row, world.room_id, held, release))
    assert await asyncio.to_thread(held.wait, 10)
    try:
        await alice.send(type="message_send", content="first, held by the lock", temp_id="busy-1")
        await alice.expect("message_pending", temp_id="busy-1")
        await asyncio.sleep(0.2)  # alice's statement has the pool's one connection, waiting on the lock
        await bob.send(type="message_send", content="second, queued for the pool", temp_id="busy-2")
        await bob.expect("message_pending", temp_id="busy-2")
        await until(lambda: (REGISTRY.get_sample_value("chat_db_send_pool_busy_total") or 0.0) > busy_before,
                    "bob's send found the pool busy and kept waiting")
    finally:
        release.set()
        await holder
    first = await alice.expect("message_confirmed", temp_id="busy-1", timeout=10)
    second = await bob.expect("message_confirmed", temp_id="busy-2", timeout=10)
    assert (first["message"]["seq"], second["message"]["seq"]) == (1, 1)
    assert async_db.available(), "the pool was busy, not failing: it does not rest"


async def test_sends_into_one_room_take_turns_before_they_take_a_pooled_connection(ws, world, settings, make_room):
    """A send waiting on a busy room's row lock does not hold a connection of the send pool:
    another room's send goes through while the first room is held."""
    from prometheus_client import REGISTRY

    settings.CHAT_ASYNC_DB_POOL_SIZE = 2
    other_room = (await orm(make_room, owner=world.carol, members=[world.bob], name="a quiet room"))["id"]
    alice = await ws(f"/ws/chat/{world.room_id}/", token=world.alice_token)
    bob = await ws(f"/ws/chat/{world.room_id}/", token=world.bob_token)
    carol = await ws(f"/ws/chat/{other_room}/", token=world.carol_token)
    turns = REGISTRY.get_sample_value("chat_db_send_seconds_count", {"what": "room_turn"}) or 0.0
    held, release = threading.Event(), threading.Event()
    holder = asyncio.create_task(orm(_hold_the_room_row, world.room_id, held, release))
    assert await asyncio.to_thread(held.wait, 10)
    try:
        await alice.send(type="message_send", content="first into the held room", temp_id="turn-1")
        await bob.send(type="message_send", content="second into the held room", temp_id="turn-2")
        await alice.expect("message_pending", temp_id="turn-1")
        await bob.expect("message_pending", temp_id="turn-2")
        await until(lambda: (REGISTRY.get_sample_value("chat_db_send_seconds_count", {"what": "room_turn"}) or 0.0)
                    > turns, "the first send into the held room had its turn")
        await asyncio.sleep(0.3)  # the second is queued behind it
        # Two connections: one waits on the row lock; without turns the second would too, and
        # the quiet room's send would find none free until the lock is released.
        await carol.send(type="message_send", content="the quiet room is not held up", temp_id="turn-3")
        quiet = await carol.expect("message_confirmed", temp_id="turn-3", timeout=5)
        assert quiet["message"]["seq"] == 1
    finally:
        release.set()
        await holder
    first = await alice.expect("message_confirmed", temp_id="turn-1", timeout=10)
    second = await bob.expect("message_confirmed", temp_id="turn-2", timeout=10)
    assert sorted([first["message"]["seq"], second["message"]["seq"]]) == [1, 2]


async def test_a_send_that_waited_too_long_for_the_pool_takes_the_thread_path_alone(ws, world, settings):
    """No connection of the send pool within the wait and none at work on a send (here: held
    outside the send path): that send is stored through the thread path, and the pool is not
    rested for it, so the next send uses the pool again."""
    from prometheus_client import REGISTRY

    from chat import async_db

    settings.CHAT_ASYNC_DB_POOL_SIZE, settings.CHAT_ASYNC_DB_WAIT_SECONDS = 1, 0.1
    alice = await ws(f"/ws/chat/{world.room_id}/", token=world.alice_token)
    timeouts = REGISTRY.get_sample_value("chat_db_send_pool_timeouts_total") or 0.0
    pool = await async_db.pool()
    taken = await pool.getconn(10)
    try:
        await alice.send(type="message_send", content="through the thread path", temp_id="late-1")
        first = await alice.expect("message_confirmed", temp_id="late-1", timeout=10)
    finally:
        await pool.putconn(taken)
    assert REGISTRY.get_sample_value("chat_db_send_pool_timeouts_total") == timeouts + 1
    assert async_db.available(), "one late send does not rest the pool"
    await alice.send(type="message_send", content="through the pool", temp_id="late-2")
    second = await alice.expect("message_confirmed", temp_id="late-2", timeout=10)
    assert (first["message"]["seq"], second["message"]["seq"]) == (1, 2)
    assert REGISTRY.get_sample_value("chat_db_send_pool_timeouts_total") == timeouts + 1

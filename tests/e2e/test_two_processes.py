"""Two real Daphne processes sharing Redis and PostgreSQL."""
import asyncio
import time

import pytest
from asgiref.sync import sync_to_async
from accounts.tokens import issue_token

from tests.e2e.conftest import WSClient, dump_logs, http_json, ws_url

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def people(make_user, make_room):
    alice, bob = make_user(), make_user()
    room = make_room(owner=alice, members=[bob], name="across pods")
    tokens = {u.username: issue_token(u) for u in (alice, bob)}
    return alice, bob, room["id"], tokens


async def test_messages_and_presence_cross_processes(daphnes, people):
    alice, bob, room_id, tokens = people
    one, two = await sync_to_async(daphnes)(2)
    try:
        a = await WSClient.open(ws_url(one, tokens[alice.username]), "alice@1")
        b = await WSClient.open(ws_url(two, tokens[bob.username], room_id), "bob@2")
        online = await a.expect("user_presence", user_id=bob.id, timeout=10)
        assert online["status"] == "online" and online["username"] == bob.username

        await a.send(type="message_send", room=room_id, content="from process one", temp_id="x-1")
        sent = (await a.expect("message_confirmed", temp_id="x-1"))["message"]
        got = await b.expect("message_new", timeout=10)
        assert got["message"]["id"] == sent["id"] and got["message"]["content"] == "from process one"

        await b.send(type="message_send", content="და მეორიდან", temp_id="y-1")
        sent = (await b.expect("message_confirmed", temp_id="y-1"))["message"]
        got = await a.expect("message_new", timeout=10)
        assert got["message"]["id"] == sent["id"] and got["message"]["seq"] == 2

        # a second socket of bob on the other process: no new presence; closing one of two: none either
        b2 = await WSClient.open(ws_url(one, tokens[bob.username]), "bob@1")
        await b.close()
        await asyncio.sleep(1.0)
        assert await _presence_of(a, bob.id, 0.5) == []
        await b2.close()
        offline = await a.expect("user_presence", user_id=bob.id, timeout=10)
        assert offline["status"] == "offline"
        await a.close()
    except BaseException:
        print(dump_logs([one, two]))
        raise


async def _presence_of(client: WSClient, user_id: int, quiet: float) -> list[dict]:
    while (frame := await client._next(quiet)) is not None:
        client.inbox.append(frame)
    return [f for f in client.inbox if f["type"] == "user_presence" and f["user_id"] == user_id]


async def test_kill_9_takes_its_users_offline_and_sigterm_closes_with_1012(daphnes, people):
    alice, bob, room_id, tokens = people
    one, two = await sync_to_async(daphnes)(2)
    try:
        a = await WSClient.open(ws_url(one, tokens[alice.username]), "alice@1")
        b = await WSClient.open(ws_url(two, tokens[bob.username]), "bob@2")
        b_room = await WSClient.open(ws_url(two, tokens[bob.username], room_id), "bob-room@2")
        assert (await a.expect("user_presence", user_id=bob.id))["status"] == "online"
        room = (await asyncio.to_thread(http_json, one, f"/api/chat/rooms/{room_id}/", tokens[alice.username]))
        assert {m["id"]: m["online"] for m in room["members"]} == {alice.id: True, bob.id: True}

        killed_at = time.monotonic()
        await asyncio.to_thread(two.kill)  # kill -9: no close frames, no presence cleanup
        offline = await a.expect("user_presence", user_id=bob.id, timeout=20)
        took = time.monotonic() - killed_at
        assert offline["status"] == "offline"
        assert took < 3 + 1 + 4, f"offline after {took:.1f}s (TTL 3 s + heartbeat 1 s)"
        room = (await asyncio.to_thread(http_json, one, f"/api/chat/rooms/{room_id}/", tokens[alice.username]))
        assert {m["id"]: m["online"] for m in room["members"]} == {alice.id: True, bob.id: False}
        for client in (b, b_room):  # their sockets died with the process
            assert await client.expect_close(timeout=5) not in (1000, 1012)

        await asyncio.to_thread(one.terminate)  # SIGTERM: a rolling deploy
        assert await a.expect_close(timeout=10) == 1012
        assert one.proc.wait(10) is not None
    except BaseException:
        print(dump_logs([one, two]))
        raise

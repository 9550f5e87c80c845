"""Redis going away under a live conversation: the ws processes repair every room change they
missed from PostgreSQL, so every member receives every confirmed message live, on the socket it
already had, and no client has to ask `sync_request` (apps/ws/hub.py)."""
import asyncio
import json
import urllib.request

import pytest
from asgiref.sync import sync_to_async
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.conftest import WSClient, dump_logs, ws_url
from tests.e2e.conversation import (assert_all_live, assert_exactly_once, catch_up, connect_members,
                                     four_members, room_messages, stop_conversation)
from harness import processes

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def own_redis():
    """A redis-server of this test's own, restartable on the same port."""
    started = [processes.redis_server().wait_ready()]

    def restart():
        started[-1].kill()
        started.append(processes.redis_server(port=started[0].port).wait_ready())

    yield started[0].port, restart, started
    for proc in started:
        proc.kill()


def metric_total(proc, name: str, **labels) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{proc.port}/metrics", timeout=10) as response:
        text = response.read().decode()
    return sum(sample.value for family in text_string_to_metric_families(text) for sample in family.samples
               if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()))


def send_over_http(proc, token: str, room_id: int, content: str, temp_id: str) -> dict:
    body = json.dumps({"room": room_id, "content": content, "temp_id": temp_id}).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{proc.port}/api/chat/messages/", data=body, method="POST",
                                     headers={"Authorization": f"Token {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


async def test_redis_restart_mid_conversation_is_repaired_without_client_sync(daphnes, own_redis, make_user,
                                                                               make_room):
    port, restart, _ = own_redis
    room, users, tokens = await four_members(make_user, make_room, "redis restart")
    quiet = await sync_to_async(make_room)(owner=users[0], members=[users[1]], name="quiet room")
    procs = await sync_to_async(daphnes)(2, REDIS_URL=f"redis://127.0.0.1:{port}/0")
    members, runners = await connect_members(room, users, tokens, procs)
    listener = await WSClient.open(ws_url(procs[1], tokens[1], quiet["id"]), "quiet listener")
    try:
        stop = asyncio.Event()
        talkers = [asyncio.create_task(m.converse(stop, 0.15)) for m in members]
        await asyncio.sleep(2.0)
        await asyncio.to_thread(restart)  # kill -9, then a new empty Redis on the same port
        # the quiet room's only message is published while Redis is away, or into the new one
        # before the ws processes have subscribed again: it must arrive all the same
        await asyncio.to_thread(send_over_http, procs[0], tokens[0], quiet["id"], "while away", "quiet-1")
        await asyncio.sleep(5.0)
        stop.set()
        await asyncio.wait_for(asyncio.gather(*talkers), 60)

        quiet_message = await listener.expect("message_new", timeout=30)
        assert quiet_message["message"]["content"] == "while away"
        await asyncio.sleep(1.0)
        await catch_up(members)
        stored = await sync_to_async(room_messages)(room["id"])
        assert_exactly_once(members, stored)
        assert_all_live(members, stored)
        reconnects = sum(metric_total(p, "chat_fanout_subscription_reconnects_total") for p in procs)
        assert reconnects >= 2, "both ws processes subscribed again"
        print(f"redis restart: {len(stored)} messages, repaired:",
              {what: sum(metric_total(p, "chat_fanout_repairs_total", what=what) for p in procs)
               for what in ("gaps", "messages")})
    except BaseException:
        print(dump_logs(procs))
        raise
    finally:
        await listener.close()
        await stop_conversation(members, runners)


async def test_a_room_added_while_redis_was_away_reaches_the_socket(daphnes, own_redis, make_user, make_room):
    """The room_added publication is lost (made from this test process, whose Redis is another
    one): after the ws process subscribes again it compares its sockets' rooms with PostgreSQL."""
    from chat import actions

    port, restart, _ = own_redis
    owner, joiner = await sync_to_async(make_user)(), await sync_to_async(make_user)()
    room = await sync_to_async(make_room)(owner=owner, name="added in the dark")
    from accounts.tokens import issue_token

    owner_token, joiner_token = [await sync_to_async(issue_token)(u) for u in (owner, joiner)]
    [proc] = await sync_to_async(daphnes)(1, REDIS_URL=f"redis://127.0.0.1:{port}/0")
    socket = await WSClient.open(ws_url(proc, joiner_token), "joiner")
    try:
        await sync_to_async(actions.add_member)(owner, room_id=room["id"], user_id=joiner.id)
        await asyncio.to_thread(restart)
        added = await socket.expect("room_added", timeout=30)
        assert added["room"]["id"] == room["id"]
        await asyncio.sleep(0.5)  # the socket follows the room now
        await asyncio.to_thread(send_over_http, proc, owner_token, room["id"], "welcome", "welcome-1")
        assert (await socket.expect("message_new", timeout=30))["message"]["content"] == "welcome"
    except BaseException:
        print(dump_logs([proc]))
        raise
    finally:
        await socket.close()


async def test_a_session_ended_while_redis_was_away_closes_its_socket(daphnes, own_redis, make_user):
    """The logout's publication is lost (made from this test process, whose Redis is another
    one): when the ws process follows the user's channel again it compares the sockets'
    sessions with PostgreSQL; the ended one closes with 4001, the other session's stays."""
    from accounts import tokens

    port, restart, _ = own_redis
    user = await sync_to_async(make_user)()
    ended_key, kept_key = [await sync_to_async(tokens.issue_token)(user) for _ in range(2)]
    [proc] = await sync_to_async(daphnes)(1, REDIS_URL=f"redis://127.0.0.1:{port}/0")
    ended = await WSClient.open(ws_url(proc, ended_key), "ended session")
    kept = await WSClient.open(ws_url(proc, kept_key), "kept session")
    try:
        await sync_to_async(lambda: tokens.revoke(tokens.resolve(ended_key)))()
        await asyncio.to_thread(restart)
        assert await ended.expect_close(timeout=30) == 4001
        await kept.send(type="ping")
        assert await kept.expect("pong", timeout=10)
        assert kept.close_code is None
    except BaseException:
        print(dump_logs([proc]))
        raise
    finally:
        await kept.close()

"""Across two real Daphne processes: a logout closes that token's sockets on both at once, log
out everywhere closes all of the user's; a frame over Daphne's limit gets a close frame (1009),
never a dropped connection; unknown paths close 4004."""
import asyncio
import json
import urllib.request

import pytest
import websockets
from asgiref.sync import sync_to_async

from accounts.tokens import issue_token
from tests.e2e.conftest import WSClient, dump_logs, ws_url

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def people(make_user, make_room):
    alice, bob = make_user(), make_user()
    room = make_room(owner=alice, members=[bob], name="sessions")
    return alice, bob, room["id"]


def _post(proc, path: str, token: str) -> int:
    request = urllib.request.Request(f"http://127.0.0.1:{proc.port}{path}", data=b"", method="POST",
                                     headers={"Authorization": f"Token {token}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status


async def test_logout_closes_that_tokens_sockets_on_every_process(daphnes, people):
    alice, bob, room_id = people
    one, two = await sync_to_async(daphnes)(2)
    phone, laptop = [await sync_to_async(issue_token)(alice) for _ in range(2)]
    bob_token = await sync_to_async(issue_token)(bob)
    try:
        on_one = await WSClient.open(ws_url(one, phone), "phone@1")
        on_two = await WSClient.open(ws_url(two, phone, room_id), "phone-room@2")
        laptop_socket = await WSClient.open(ws_url(two, laptop), "laptop@2")
        bob_socket = await WSClient.open(ws_url(one, bob_token), "bob@1")
        assert await sync_to_async(_post)(one, "/api/auth/logout/", phone) == 204
        assert await on_one.expect_close(timeout=5) == 4001
        assert await on_two.expect_close(timeout=5) == 4001
        await laptop_socket.send(type="ping")
        await laptop_socket.expect("pong")

        assert await sync_to_async(_post)(two, "/api/auth/logout-all/", laptop) == 204
        assert await laptop_socket.expect_close(timeout=5) == 4001
        await bob_socket.send(type="ping")
        await bob_socket.expect("pong")
        await bob_socket.close()
    except BaseException:
        print(dump_logs([one, two]))
        raise


async def test_deactivation_closes_sockets_on_every_process(daphnes, people):
    alice, _, room_id = people
    one, two = await sync_to_async(daphnes)(2)
    token = await sync_to_async(issue_token)(alice)
    try:
        sockets = [await WSClient.open(ws_url(one, token), "a@1"), await WSClient.open(ws_url(two, token, room_id), "a@2")]

        def deactivate():
            alice.is_active = False
            alice.save()

        await sync_to_async(deactivate)()
        for socket in sockets:
            assert await socket.expect_close(timeout=5) == 4001
    except BaseException:
        print(dump_logs([one, two]))
        raise


async def test_sockets_per_user_capped_across_processes(daphnes, people):
    alice, _, _ = people
    one, two = await sync_to_async(daphnes)(2, CHAT_WS_MAX_SOCKETS_PER_USER=3)
    token = await sync_to_async(issue_token)(alice)
    try:
        opened = [await WSClient.open(ws_url(proc, token), f"a{i}") for i, proc in enumerate((one, two, one))]
        refused = WSClient("a4@2")
        refused.ws = await websockets.connect(ws_url(two, token), open_timeout=10)
        error = await refused.expect("error")
        assert error["code"] == "too_many_sockets"
        assert await refused.expect_close() == 4029
        await opened[0].close()
        await asyncio.sleep(0.5)
        again = await WSClient.open(ws_url(two, token), "a5@2")
        await again.close()
    except BaseException:
        print(dump_logs([one, two]))
        raise


async def test_frames_over_the_limits_get_close_frames(daphnes, people):
    alice, _, _ = people
    (one,) = await sync_to_async(daphnes)(1)
    token = await sync_to_async(issue_token)(alice)
    try:
        over_app = await WSClient.open(ws_url(one, token), "64k")
        await over_app.ws.send(json.dumps({"type": "ping", "pad": "x" * (100 * 1024)}))
        assert await over_app.expect_close() == 4008
        over_daphne = await WSClient.open(ws_url(one, token), "2m")
        await over_daphne.ws.send(json.dumps({"type": "ping", "pad": "x" * (2 * 1024 * 1024)}))
        assert await over_daphne.expect_close() == 1009  # a close frame, not 1006 (a dropped connection)
        for path in ("/ws/chat/abc/", "/ws/other/"):
            unknown = WSClient(path)
            unknown.ws = await websockets.connect(f"ws://127.0.0.1:{one.port}{path}?token={token}", open_timeout=10)
            assert await unknown.expect_close() == 4004
    except BaseException:
        print(dump_logs([one]))
        raise

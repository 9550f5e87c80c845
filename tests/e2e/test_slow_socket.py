"""A socket whose client does not read must not hold up the room or grow the server's memory:
its frames wait in its own buffer only, and past CHAT_WS_SEND_BUFFER_HARD it is closed with 1013
(reconnect and sync) while the reading members get every message (apps/ws/outlet.py)."""
import asyncio
import base64
import os
import socket

import pytest
from asgiref.sync import sync_to_async

from tests.e2e.conftest import WSClient, dump_logs, ws_url
from tests.e2e.test_fanout_outages import metric_total

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

MESSAGES = 300
CONTENT = "ნელი კლიენტი " * 500  # ~6,500 characters, ~17 KB of UTF-8 a frame


def non_reading_socket(port: int, path: str) -> socket.socket:
    """A WebSocket handshake by hand on a socket with a tiny receive buffer, then never a read."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall((f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
    answer = b""
    while b"\r\n\r\n" not in answer:
        answer += sock.recv(1)  # byte by byte: nothing after the handshake is taken off the socket
    assert answer.startswith(b"HTTP/1.1 101"), answer
    return sock


async def test_a_socket_that_does_not_read_is_closed_and_delays_nobody(daphnes, make_user, make_room):
    alice, bob, carol = [await sync_to_async(make_user)() for _ in range(3)]
    room = await sync_to_async(make_room)(owner=alice, members=[bob, carol], name="slow")
    from accounts.tokens import issue_token

    tokens = [await sync_to_async(issue_token)(u) for u in (alice, bob, carol)]
    [proc] = await sync_to_async(daphnes)(1, CHAT_WS_SEND_BUFFER_SOFT=16384, CHAT_WS_SEND_BUFFER_HARD=262144,
                                          CHAT_WS_RATE_PER_SECOND=10000, CHAT_WS_RATE_BURST=10000)
    stuck = await asyncio.to_thread(non_reading_socket, proc.port, f"/ws/chat/{room['id']}/?token={tokens[2]}")
    sender = await WSClient.open(ws_url(proc, tokens[0], room["id"]), "alice")
    reader = await WSClient.open(ws_url(proc, tokens[1], room["id"]), "bob")
    confirmed = []

    async def read_confirmations():  # the sender reads its answers, as any live client does
        while len(confirmed) < MESSAGES:
            confirmed.append(await sender.expect("message_confirmed", timeout=60))

    confirming = asyncio.create_task(read_confirmations())
    try:
        for i in range(MESSAGES):
            await sender.send(type="message_send", content=f"{i} {CONTENT}", temp_id=f"slow-{i}")
        seqs = []
        while len(seqs) < MESSAGES:
            seqs.append((await reader.expect("message_new", timeout=60))["message"]["seq"])
        assert seqs == list(range(1, MESSAGES + 1)), "the reading member got every message, in order"
        await asyncio.wait_for(confirming, 60)
        assert metric_total(proc, "chat_ws_slow_socket_closes_total") == 1
        assert metric_total(proc, "chat_ws_closes_total", code="1013") == 1
        await reader.send(type="ping")
        await reader.expect("pong")
    except BaseException:
        print("sender saw:", [(f["type"], f.get("code") or f.get("error")) for f in sender.inbox][:20], sender.close_code)
        print(dump_logs([proc]))
        raise
    finally:
        confirming.cancel()
        stuck.close()
        await sender.close()
        await reader.close()

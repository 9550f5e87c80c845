"""SIGTERM drains a real Daphne: readiness off at once, then 1012 closes in batches over the drain."""
import asyncio
import json
import os
import signal
import time
import urllib.error
import urllib.request

import pytest
import websockets
from asgiref.sync import sync_to_async

from accounts.tokens import issue_token
from tests.e2e.conftest import WSClient, dump_logs, ws_url

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SOCKETS = 12
DRAIN_SECONDS = 3  # batches every 0.5 s: 6 rounds of 2 sockets over 2.5 s


def readyz(proc) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{proc.port}/readyz", timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


async def test_sigterm_turns_readiness_off_then_closes_sockets_with_1012_in_batches(daphnes, make_user):
    user = await sync_to_async(make_user)()
    token = await sync_to_async(issue_token)(user)
    (proc,) = await sync_to_async(daphnes)(1, CHAT_WS_DRAIN_SECONDS=DRAIN_SECONDS)
    try:
        clients = [await WSClient.open(ws_url(proc, token), f"socket-{i}") for i in range(SOCKETS)]
        assert await asyncio.to_thread(readyz, proc) == (200, {"status": "ok", "database": "ok", "redis": "ok"})

        closed_at: list[float] = []

        async def wait_close(client: WSClient) -> int:
            code = await client.expect_close(timeout=DRAIN_SECONDS + 10)
            closed_at.append(time.monotonic())
            return code

        waits = [asyncio.create_task(wait_close(c)) for c in clients]
        os.killpg(proc.proc.pid, signal.SIGTERM)
        signalled = time.monotonic()
        status = None
        while time.monotonic() - signalled < DRAIN_SECONDS and len(closed_at) < SOCKETS:
            status = await asyncio.to_thread(readyz, proc)
            if status[0] == 503:
                break
            await asyncio.sleep(0.05)
        assert status == (503, {"status": "draining"})
        assert len(closed_at) < SOCKETS, "readiness went off only after the drain"

        codes = await asyncio.gather(*waits)
        assert codes == [1012] * SOCKETS
        closed_at.sort()
        spread = closed_at[-1] - closed_at[0]
        batches = 1 + sum(1 for a, b in zip(closed_at, closed_at[1:]) if b - a > 0.25)
        assert spread >= 1.5, f"all closes within {spread:.2f}s: not spread over the drain"
        assert batches >= 4, f"{batches} batches of closes"
        assert await asyncio.to_thread(proc.proc.wait, 15) is not None  # and then the process exits
    except BaseException:
        print(dump_logs([proc]))
        raise


async def test_sockets_opened_during_the_drain_still_get_1012(daphnes, make_user):
    """A client that reaches a draining process (the proxy has not seen /readyz go 503 yet)
    is accepted, then closed with 1012 once its session is set up: the process must not exit
    before those closes are through, or the late sockets end with 1006."""
    users = [await sync_to_async(make_user)() for _ in range(5)]
    tokens = [await sync_to_async(issue_token)(user) for user in users]
    (proc,) = await sync_to_async(daphnes)(1, CHAT_WS_DRAIN_SECONDS=1)
    try:
        holding = [await WSClient.open(ws_url(proc, token), f"held-{i}") for i, token in enumerate(tokens)]
        os.killpg(proc.proc.pid, signal.SIGTERM)
        late: list[asyncio.Task] = []
        opened = 0
        while proc.proc.poll() is None and opened < 400:
            try:
                ws = await websockets.connect(ws_url(proc, tokens[opened % len(tokens)]), open_timeout=2,
                                              close_timeout=2, max_size=2**20)
            except (OSError, TimeoutError, websockets.InvalidHandshake):
                break  # the listener is gone: the process is on its way out
            opened += 1
            late.append(asyncio.create_task(close_code(ws)))
            await asyncio.sleep(0.01)
        codes = await asyncio.gather(*late, *(c.expect_close(timeout=15) for c in holding))
        assert opened > 0, "no socket reached the draining process"
        assert set(codes) == {1012}, f"{opened} late sockets: close codes {sorted(set(codes))}"
    except BaseException:
        print(dump_logs([proc]))
        raise


async def close_code(ws) -> int:
    try:
        async for _ in ws:
            pass
    except websockets.ConnectionClosed:
        pass
    return ws.close_code if ws.close_code is not None else 1006

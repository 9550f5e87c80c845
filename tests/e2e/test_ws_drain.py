"""SIGTERM drains a real Daphne: readiness off at once, then 1012 closes in batches over the drain."""
import asyncio
import json
import os
import signal
import time
import urllib.error
import urllib.request

import pytest
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

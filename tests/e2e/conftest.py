"""End-to-end: real Daphne processes (and redis-server / redis-sentinel), clients over real
sockets with the `websockets` package, the pytest PostgreSQL test database shared with them."""
import asyncio
import json
import os
import time
import urllib.request

import pytest
import websockets
from django.conf import settings

from harness import clients, processes
from tests.support.database import child_database_url


@pytest.fixture
def daphnes(transactional_db):
    """`daphnes(n, **env)` -> n started Daphne processes on the test database and the session's
    Redis prefixes; all are killed at the end (before the test database is flushed)."""
    started: list[processes.Process] = []

    def start(n: int = 2, **env) -> list[processes.Process]:
        base = {
            "DATABASE_URL": child_database_url(),
            "REDIS_KEY_PREFIX": settings.REDIS_KEY_PREFIX,
            "CHAT_PRESENCE_TTL_SECONDS": "3",
            "CHAT_PRESENCE_HEARTBEAT_SECONDS": "1",
            "LOG_LEVEL": os.environ.get("E2E_LOG_LEVEL", "WARNING"),
            "DB_CONN_MAX_AGE": "0",
        }
        if not env.get("REDIS_SENTINELS"):
            base["REDIS_URL"] = os.environ["REDIS_URL"]
        procs = [processes.ws_server({**base, **{k: str(v) for k, v in env.items()}}) for _ in range(n)]
        started.extend(procs)
        for proc in procs:
            proc.wait_ready(60)
        return procs

    yield start
    for proc in started:
        proc.kill()


def dump_logs(procs) -> str:
    return "\n".join(f"--- {p.log.name} (exit {p.proc.poll()})\n{p.output()[-3000:]}" for p in procs)


class WSClient:
    """A client over a real socket: an inbox, waiting for a frame type, the close code."""

    def __init__(self, name: str):
        self.name = name
        self.inbox: list[dict] = []
        self.close_code: int | None = None
        self.ws = None

    @classmethod
    async def open(cls, url: str, name: str | None = None) -> "WSClient":
        client = cls(name or url)
        client.ws = await websockets.connect(url, open_timeout=10, close_timeout=2, max_size=2**20)
        client.established = await client.expect("connection_established", timeout=15)
        return client

    async def send(self, **frame) -> None:
        await self.ws.send(json.dumps(frame, ensure_ascii=False))

    async def _next(self, timeout: float) -> dict | None:
        if self.close_code is not None:
            return None
        try:
            raw = await asyncio.wait_for(self.ws.recv(), timeout)
        except TimeoutError:
            return None
        except websockets.ConnectionClosed as closed:
            self.close_code = closed.rcvd.code if closed.rcvd else 1006
            return {"type": "__close__", "code": self.close_code}
        return json.loads(raw)

    async def expect(self, type_: str, timeout: float = 10.0, **match) -> dict:
        for i, frame in enumerate(self.inbox):
            if frame["type"] == type_ and all(frame.get(k) == v for k, v in match.items()):
                return self.inbox.pop(i)
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            frame = await self._next(left)
            if frame is None:
                break
            if frame["type"] == type_ and all(frame.get(k) == v for k, v in match.items()):
                return frame
            self.inbox.append(frame)
        raise AssertionError(f"{self.name}: no {type_} {match or ''} within {timeout}s; "
                             f"got {[f['type'] for f in self.inbox]} close={self.close_code}")

    async def expect_close(self, timeout: float = 10.0) -> int:
        return (await self.expect("__close__", timeout))["code"]

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()


def ws_url(proc, token: str, room_id: int | None = None) -> str:
    return clients.ws_url(proc.port, token, room_id)


def http_json(proc, path: str, token: str):
    request = urllib.request.Request(f"http://127.0.0.1:{proc.port}{path}",
                                     headers={"Authorization": f"Token {token}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


from tests.ws.conftest import _close_thread_connections  # noqa: E402,F401 - the same session fixture

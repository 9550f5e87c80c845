"""A test-side WebSocket client over the Channels communicator."""
import asyncio
import itertools
import json
import time

from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator

_temp_ids = itertools.count(1)


def temp_id(prefix: str = "t") -> str:
    return f"{prefix}-{time.monotonic_ns()}-{next(_temp_ids)}"


async def orm(fn, *args, **kwargs):
    """Run ORM code from an async test."""
    return await sync_to_async(fn, thread_sensitive=False)(*args, **kwargs)


async def settled(sender: "Client", receiver: "Client", room_id: int) -> None:
    """Until the room's live feed is settled: a socket's join sends the SUBSCRIBE, and the hub
    then compares the room with PostgreSQL; a message committed in between reaches the room by
    repair (apps/ws/hub.py), which carries no trace context. One message delivered live to the
    receiver means both steps are behind us."""
    await sender.send(type="message_send", room=room_id, content="settling", temp_id=temp_id("settle"))
    await receiver.expect("message_new", timeout=10)


async def until(condition, what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"never: {what}"
        await asyncio.sleep(0.02)


class Client:
    """One WebSocket over the Channels communicator, with an inbox so a test can wait for one
    frame type while others (presence, receipts) arrive in between."""

    def __init__(self, communicator: WebsocketCommunicator, name: str):
        self.comm = communicator
        self.name = name
        self.inbox: list[dict] = []
        self.close_code: int | None = None
        self.raw: list[str] = []

    async def send(self, **frame) -> None:
        await self.comm.send_to(text_data=json.dumps(frame, ensure_ascii=False))

    async def send_text(self, text: str) -> None:
        await self.comm.send_to(text_data=text)

    async def _next_output(self, timeout: float) -> dict | None:
        """The next frame, or None when nothing arrives in time (the app is NOT cancelled)."""
        if self.close_code is not None:
            return None
        if self.comm.future.done():
            self.comm.future.result()  # raise what ended the application
        try:
            out = await asyncio.wait_for(self.comm.output_queue.get(), timeout)
        except TimeoutError:
            return None
        if out["type"] == "websocket.close":
            self.close_code = out.get("code", 1000)
            return {"type": "__close__", "code": self.close_code}
        assert out["type"] == "websocket.send", out
        assert "text" in out and out.get("bytes") is None, f"{self.name}: frames are text: {out}"
        self.raw.append(out["text"])
        frame = json.loads(out["text"])
        assert isinstance(frame, dict) and isinstance(frame.get("type"), str), frame
        return frame

    async def expect(self, type_: str, timeout: float = 5.0, **match) -> dict:
        """The first frame of this type (matching the given fields) in the inbox or arriving."""
        for i, frame in enumerate(self.inbox):
            if frame["type"] == type_ and _matches(frame, match):
                return self.inbox.pop(i)
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            frame = await self._next_output(left)
            if frame is None:
                break
            if frame["type"] == type_ and _matches(frame, match):
                return frame
            self.inbox.append(frame)
        raise AssertionError(f"{self.name}: no {type_} {match or ''} within {timeout}s; "
                             f"got {[f['type'] for f in self.inbox]} close={self.close_code}")

    async def expect_close(self, timeout: float = 5.0) -> int:
        frame = await self.expect("__close__", timeout)
        return frame["code"]

    async def settle(self, quiet: float = 0.5, limit: float = 10.0) -> list[dict]:
        """Receive until nothing arrives for `quiet` seconds; everything received goes to the inbox."""
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            frame = await self._next_output(quiet)
            if frame is None:
                break
            self.inbox.append(frame)
        return self.inbox

    async def take_all(self, type_: str, quiet: float = 0.5) -> list[dict]:
        """Every frame of this type that arrives until the socket is quiet, removed from the inbox."""
        await self.settle(quiet)
        found = [f for f in self.inbox if f["type"] == type_]
        self.inbox = [f for f in self.inbox if f["type"] != type_]
        return found

    async def assert_open(self) -> None:
        """Prove the socket still serves: a ping gets its pong."""
        await self.send(type="ping")
        await self.expect("pong")
        assert self.close_code is None

    async def disconnect(self) -> None:
        if not self.comm.future.done():
            # redis-py can swallow a cancellation that lands just as a command starts (redis-py
            # issue 2028); give a just-started channel receive a moment to be mid-read.
            await asyncio.sleep(0.05)
            try:
                await self.comm.disconnect(timeout=2)
            except TimeoutError:
                pass


def _matches(frame: dict, match: dict) -> bool:
    for key, value in match.items():
        path = key.split("__")
        node = frame
        for part in path:
            if not isinstance(node, dict) or part not in node:
                return False
            node = node[part]
        if node != value:
            return False
    return True

"""A room member over a real socket that behaves like the product's web client
(frontend/src/lib/realtime): sends wait for confirmation or failure and are retried with the same
temp_id; a closed socket reconnects with jittered backoff (to the next process) and syncs from
the last contiguous seq; a seq gap or a `resync` frame starts a `sync_request` at once. What it
received goes into one `SeqTracker`; the tests judge exactly-once delivery and the benchmarks
lost-live deliveries and latencies from it (`on_message` sees every message frame as it comes).
"""
import asyncio
import random
import time
from typing import Callable

import orjson
import websockets

from harness.clients import open_socket
from harness.seqs import SeqTracker

SEND_TIMEOUT = 10.0  # no answer and no close in this long = a silently stalled socket


class Member:
    def __init__(self, name: str, room_id: int, urls: list[str], home: int = 0,
                 on_message: Callable[[str, dict, float], None] | None = None):
        """`urls`: one per ws process; the member starts on urls[home] and moves on after a close.
        `on_message(kind, frame, monotonic time)` for each message_new / message_confirmed of the room."""
        self.name, self.room_id, self.urls, self.home, self.on_message = name, room_id, urls, home, on_message
        self.seqs = SeqTracker()
        self.resets: list[dict] = []
        self.resyncs: list[dict] = []  # `resync` frames: the server could not deliver everything live
        self.gap_syncs = 0  # syncs this client started itself on a seq gap (the backstop)
        self.gaps: list[dict] = []  # each such gap: what came, and what the client held then
        self.confirmed: dict[str, dict] = {}
        self.confirmed_at: dict[str, float] = {}
        self.attempted: set[str] = set()
        self.stalls: list = []
        self.closes: list[tuple[float, int | str]] = []
        self.connects = 0
        self.ws = None
        self.connected = asyncio.Event()
        self.synced = asyncio.Event()
        self.syncing = False
        self.pending: dict[str, asyncio.Future] = {}
        self.stopping = False

    @property
    def live_at(self) -> dict[int, float]:
        """seq -> when a live frame first brought it."""
        return self.seqs.live_at

    async def sync(self) -> None:
        ws = self.ws
        if ws is None:
            return
        self.synced.clear()
        self.syncing = True
        await ws.send(orjson.dumps({"type": "sync_request", "room": self.room_id,
                                    "last_seq": self.seqs.watermark}).decode())

    async def run(self) -> None:
        """Connected until stopped: a closed socket reconnects with jittered backoff, to the next
        process's url after a failure."""
        attempt = 0
        while not self.stopping:
            url = self.urls[(self.home + attempt) % len(self.urls)]
            connects = self.connects
            try:
                await self.session(url)
            except websockets.ConnectionClosed as closed:
                self.closes.append((time.monotonic(), closed.rcvd.code if closed.rcvd else 1006))
            except (OSError, TimeoutError, ConnectionError, websockets.InvalidHandshake) as exc:
                self.closes.append((time.monotonic(), f"connect: {type(exc).__name__}"))
            finally:
                self.connected.clear()
                self.ws, self.syncing = None, False
                for fut in self.pending.values():
                    if not fut.done():
                        fut.set_result({"type": "closed"})
            if self.stopping:
                break
            attempt = 1 if self.connects > connects else attempt + 1  # it connected: start over
            await asyncio.sleep(min(2.0, 0.1 * 2 ** min(attempt, 5)) * random.uniform(0.5, 1.0))

    async def session(self, url: str) -> None:
        """One connection, from its handshake until it closes."""
        ws, _ = await open_socket(url, timeout=5, close_timeout=1)
        async with ws:
            self.opened(ws)
            await self.sync()  # like the web app: every (re)connect catches up first
            self.connected.set()
            async for raw in ws:
                if self._handle(orjson.loads(raw)):
                    await self.sync()

    def opened(self, ws) -> None:
        self.ws = ws
        self.seqs.reconnected()
        self.connects += 1

    def _handle(self, frame: dict) -> bool:
        """Record a frame; True when a sync_request is due now."""
        kind = frame["type"]
        if kind in ("message_new", "message_confirmed") and frame["message"]["room"] == self.room_id:
            message = frame["message"]
            if self.on_message is not None:
                self.on_message(kind, frame, time.monotonic())
            gap = message["seq"] > self.seqs.watermark + 1
            self.seqs.observe(message["seq"], message["id"])
            if kind == "message_confirmed":
                self._answer(frame)
            if gap and not self.syncing:
                self.gap_syncs += 1
                self.gaps.append({"member": self.name, "kind": kind, "seq": message["seq"],
                                  "held_up_to": self.seqs.watermark, "at": round(time.monotonic(), 3)})
                return True
        elif kind == "message_failed":
            self._answer(frame)
        elif kind == "sync_response" and frame.get("room", self.room_id) == self.room_id:
            self.syncing = False
            for message in frame["messages"]:
                self.seqs.observe(message["seq"], message["id"], live=False)
            if frame["reset"]:
                self.resets.append(frame)
            if frame["messages"] and (frame["has_more"] or self.seqs.ahead):
                return True  # more pages, or a hole that live frames opened while this sync ran
            self.synced.set()
        elif kind == "resync" and frame.get("room") == self.room_id:
            self.resyncs.append(frame)
            return True
        return False

    def _answer(self, frame: dict) -> None:
        fut = self.pending.get(frame["temp_id"])
        if fut is not None and not fut.done():
            fut.set_result(frame)

    async def send(self, temp_id: str, content: str) -> dict | None:
        """Until confirmed: the same temp_id on every retry (exactly-once rests on it); None only
        where gives_up says so."""
        self.attempted.add(temp_id)
        for _ in range(40):
            try:
                await asyncio.wait_for(self.connected.wait(), 30)
            except TimeoutError:
                self.stalls.append((temp_id, "never reconnected"))
                continue
            ws = self.ws
            fut = self.pending[temp_id] = asyncio.get_running_loop().create_future()
            try:
                await ws.send(self.send_frame(temp_id, content))
                outcome = await asyncio.wait_for(fut, SEND_TIMEOUT)
            except websockets.ConnectionClosed:
                continue
            except TimeoutError:
                self.stalls.append((temp_id, time.monotonic()))
                await ws.close()  # what a client does with a dead socket: drop it, reconnect
                continue
            finally:
                self.pending.pop(temp_id, None)
            if outcome["type"] == "message_confirmed":
                self.confirmed[temp_id] = outcome["message"]
                self.confirmed_at[temp_id] = time.monotonic()
                return outcome["message"]
            if self.gives_up(temp_id, outcome):
                return None
            await asyncio.sleep(0.2)  # failed or closed: retry the same temp_id
        raise AssertionError(f"{self.name}: {temp_id} never confirmed")

    def send_frame(self, temp_id: str, content: str) -> str:
        """The message_send frame as it goes on the wire."""
        return orjson.dumps({"type": "message_send", "room": self.room_id, "content": content,
                             "temp_id": temp_id}).decode()

    def gives_up(self, temp_id: str, outcome: dict) -> bool:
        """Whether a send that was not confirmed ends here; the product's client always retries."""
        return False

    async def converse(self, until: asyncio.Event, interval: float) -> None:
        i = 0
        while not until.is_set():
            await self.send(f"{self.name}-{i}", f"{self.name} says {i}")
            i += 1
            await asyncio.sleep(interval * random.uniform(0.5, 1.5))


async def start(members: list[Member], timeout: float = 30.0, batch: int = 50) -> list[asyncio.Task]:
    """Run every member's connection loop, `batch` handshakes at a time; returns once all are
    connected (their runners)."""
    runners: list[asyncio.Task] = []
    try:
        for i in range(0, len(members), batch):
            chunk = members[i:i + batch]
            runners += [asyncio.create_task(m.run()) for m in chunk]
            await asyncio.wait_for(asyncio.gather(*(m.connected.wait() for m in chunk)), timeout)
    except BaseException:
        await stop(members, runners)
        raise
    return runners


async def catch_up(members: list[Member], timeout: float = 30.0) -> None:
    """Every member syncs from its last contiguous seq until it holds everything it has heard of."""
    for m in members:
        await asyncio.wait_for(m.connected.wait(), timeout)
        await m.sync()
        await asyncio.wait_for(m.synced.wait(), timeout)
        while m.seqs.ids and m.seqs.watermark < max(m.seqs.ids):
            await m.sync()
            await asyncio.wait_for(m.synced.wait(), timeout)


async def stop(members: list[Member], runners: list[asyncio.Task]) -> None:
    """End every member's connection loop and close its socket."""
    for m in members:
        m.stopping = True
    await asyncio.gather(*(m.ws.close() for m in members if m.ws is not None), return_exceptions=True)
    for task in runners:
        task.cancel()
    await asyncio.gather(*runners, return_exceptions=True)


def confirmed_by_room(members: list[Member]) -> dict[int, set[int]]:
    """room -> the seqs of every message confirmed to one of `members`."""
    out: dict[int, set[int]] = {}
    for m in members:
        out.setdefault(m.room_id, set()).update(msg["seq"] for msg in m.confirmed.values())
    return out


def tally(members: list[Member]) -> dict:
    """What the members received against what was confirmed in their rooms: deliveries lost live
    (a confirmed message a member never got from a live frame), live duplicates, members that
    needed a client sync (something lost live, or a `resync` frame), the syncs the gap backstop
    started, reconnects, sends without an answer, and members still missing a message."""
    should = confirmed_by_room(members)
    lost = [m.seqs.missing_live(should[m.room_id]) for m in members]
    return {"lost_live": sum(map(len, lost)), "duplicates": sum(len(m.seqs.duplicates) for m in members),
            "members_needing_sync": sum(1 for m, missed in zip(members, lost) if missed or m.resyncs),
            "gap_sync_requests": sum(m.gap_syncs for m in members),
            "first_gaps": sorted((g for m in members for g in m.gaps), key=lambda g: g["at"])[:10],
            "resync_frames": sum(len(m.resyncs) for m in members),
            "reconnects": sum(m.connects - 1 for m in members), "stalled_sends": sum(len(m.stalls) for m in members),
            "members_incomplete": sum(1 for m in members if not should[m.room_id] <= m.seqs.ids.keys())}

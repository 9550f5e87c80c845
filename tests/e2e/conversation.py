"""A conversing chat client for end-to-end tests, and the exactly-once checks that follow a
disruption (a Redis failover, a ws process killed): every confirmed message reached every member
once, directly or through sync, nothing was stored twice, and no socket stalled silently."""
import asyncio
import json
import random
import time

import websockets

from chat.models import Message
from tests.e2e.conftest import ws_url

SEND_TIMEOUT = 10.0  # no answer and no close in this long = a silently stalled socket


class Member:
    """A chat client as the product's clients behave: sends wait for confirmation or failure,
    a closed socket reconnects with jittered backoff (to either process) and syncs from the last
    contiguous seq; a send without an answer is retried with the same temp_id."""

    def __init__(self, name, user_id, token, procs, room_id, home):
        self.name, self.user_id, self.token, self.procs, self.room_id = name, user_id, token, procs, room_id
        self.home = home
        self.received: dict[int, int] = {}  # seq -> message id, live or through sync
        self.conflicts: list = []
        self.live_duplicates: list = []
        self.live_at: dict[int, float] = {}  # seq -> when a message_new brought it
        self.own_seqs: set[int] = set()  # seqs of this member's own confirmed messages
        self.resyncs: list[dict] = []  # resync frames: the server could not deliver live
        self.confirmed: dict[str, dict] = {}
        self.confirmed_at: dict[str, float] = {}
        self.attempted: set[str] = set()
        self.stalls: list = []
        self.closes: list[tuple[float, int]] = []
        self.connects = 0
        self.ws = None
        self.connected = asyncio.Event()
        self.pending: dict[str, asyncio.Future] = {}
        self.synced = asyncio.Event()
        self.stopping = False

    @property
    def contiguous(self) -> int:
        seq = 0
        while seq + 1 in self.received:
            seq += 1
        return seq

    def _record(self, message: dict) -> None:
        seq, mid = message["seq"], message["id"]
        if self.received.get(seq, mid) != mid:
            self.conflicts.append((seq, self.received[seq], mid))
        self.received[seq] = mid

    async def _sync(self, ws) -> None:
        self.synced.clear()
        await ws.send(json.dumps({"type": "sync_request", "room": self.room_id, "last_seq": self.contiguous}))

    async def run(self) -> None:
        attempt = 0
        while not self.stopping:
            proc = self.procs[(self.home + attempt) % len(self.procs)]
            try:
                async with websockets.connect(ws_url(proc, self.token), open_timeout=5, close_timeout=1) as ws:
                    first = json.loads(await asyncio.wait_for(ws.recv(), 10))
                    if first["type"] != "connection_established":
                        raise ConnectionError(first)
                    self.ws, seen = ws, set()
                    self.connects += 1
                    attempt = 0
                    await self._sync(ws)
                    self.connected.set()
                    async for raw in ws:
                        self._handle(json.loads(raw), seen, ws)
                        if self.synced.is_set() is False and getattr(self, "_more", False):
                            self._more = False
                            await self._sync(ws)
            except websockets.ConnectionClosed as closed:
                self.closes.append((time.monotonic(), closed.rcvd.code if closed.rcvd else 1006))
            except (OSError, TimeoutError, ConnectionError, websockets.InvalidHandshake) as exc:
                self.closes.append((time.monotonic(), f"connect: {type(exc).__name__}"))
            finally:
                self.connected.clear()
                self.ws = None
                for fut in self.pending.values():
                    if not fut.done():
                        fut.set_result({"type": "closed"})
            if self.stopping:
                break
            attempt += 1
            await asyncio.sleep(min(2.0, 0.1 * 2 ** min(attempt, 5)) * random.uniform(0.5, 1.0))

    def _handle(self, frame: dict, seen: set, ws) -> None:
        kind = frame["type"]
        if kind == "message_new" and frame["message"]["room"] == self.room_id:
            seq = frame["message"]["seq"]
            if seq in seen:
                self.live_duplicates.append(seq)
            seen.add(seq)
            self.live_at.setdefault(seq, time.monotonic())
            self._record(frame["message"])
        elif kind == "sync_response":
            for message in frame["messages"]:
                self._record(message)
            if frame["reset"]:
                self.conflicts.append(("reset", frame))
            if frame["has_more"]:
                self._more = True
            else:
                self.synced.set()
        elif kind == "resync":
            self.resyncs.append(frame)
            self.synced.clear()
            self._more = True  # sync at once, as the web app does
        elif kind in ("message_confirmed", "message_failed"):
            fut = self.pending.get(frame["temp_id"])
            if kind == "message_confirmed":
                self._record(frame["message"])
                self.own_seqs.add(frame["message"]["seq"])
            if fut is not None and not fut.done():
                fut.set_result(frame)

    async def send(self, temp_id: str, content: str) -> dict:
        """Until confirmed: the same temp_id on every retry (exactly-once rests on it)."""
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
                await ws.send(json.dumps({"type": "message_send", "room": self.room_id, "content": content,
                                          "temp_id": temp_id}))
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
            await asyncio.sleep(0.2)  # failed or closed: retry the same temp_id
        raise AssertionError(f"{self.name}: {temp_id} never confirmed")

    async def converse(self, until: asyncio.Event, interval: float) -> None:
        i = 0
        while not until.is_set():
            await self.send(f"{self.name}-{i}", f"{self.name} says {i}")
            i += 1
            await asyncio.sleep(interval * random.uniform(0.5, 1.5))


def room_messages(room_id):
    return list(Message.objects.filter(room_id=room_id).order_by("seq").values_list("seq", "id", "temp_id"))




async def four_members(make_user, make_room, name: str) -> tuple[dict, list, list]:
    """Four users in one room: (room, users, their tokens)."""
    from asgiref.sync import sync_to_async
    from accounts.tokens import issue_token

    users = [await sync_to_async(make_user)() for _ in range(4)]
    room = await sync_to_async(make_room)(owner=users[0], members=users[1:], name=name)
    tokens = [await sync_to_async(issue_token)(u) for u in users]
    return room, users, tokens


async def connect_members(room, users, tokens, procs) -> tuple[list, list]:
    """One member per user, spread over the processes, each connected: (members, their runners)."""
    members = [Member(f"m{i}", u.id, t, procs, room["id"], home=i % len(procs))
               for i, (u, t) in enumerate(zip(users, tokens))]
    runners = [asyncio.create_task(m.run()) for m in members]
    for m in members:
        await asyncio.wait_for(m.connected.wait(), 20)
    return members, runners


async def catch_up(members) -> None:
    """Every member syncs from its last contiguous seq, as after any reconnect."""
    for m in members:
        await asyncio.wait_for(m.connected.wait(), 30)
        m._more = False
        await m._sync(m.ws)
        await asyncio.wait_for(m.synced.wait(), 30)
        while m.contiguous < max(m.received):
            await m._sync(m.ws)
            await asyncio.wait_for(m.synced.wait(), 30)


def assert_exactly_once(members, stored) -> dict:
    """PostgreSQL's rows against what every member sent, had confirmed and received."""
    seqs = [seq for seq, _, _ in stored]
    assert seqs == list(range(1, len(stored) + 1)), "seq gap-free and unique in PostgreSQL"
    by_temp = {temp: (seq, mid) for seq, mid, temp in stored}
    assert len(by_temp) == len(stored), "no message stored twice"
    attempted = set().union(*(m.attempted for m in members))
    confirmed = {t: msg for m in members for t, msg in m.confirmed.items()}
    assert set(by_temp) == attempted == set(confirmed), "every send confirmed exactly once, nothing else stored"
    for temp, message in confirmed.items():
        assert by_temp[temp] == (message["seq"], message["id"]), temp
    everything = {seq: mid for seq, mid, _ in stored}
    for m in members:
        assert m.conflicts == [], (m.name, m.conflicts[:5])
        assert m.received == everything, (m.name, sorted(set(everything) - set(m.received))[:20])
        assert m.live_duplicates == [], (m.name, m.live_duplicates[:20])
        assert m.stalls == [], f"{m.name}: sends with neither answer nor close: {m.stalls}"
    return confirmed


def not_delivered_live(member, stored) -> list[int]:
    """Seqs of others' messages this member never got as message_new: a client sync was needed
    (a sync that merely raced a live delivery does not count: the live frame still came)."""
    return sorted({seq for seq, _, _ in stored} - set(member.live_at) - member.own_seqs)


def confirmed_at(members, temp_id) -> float:
    for m in members:
        if temp_id in m.confirmed_at:
            return m.confirmed_at[temp_id]
    return 0.0


async def stop_conversation(members, runners) -> None:
    """End every member's connection loop and close its socket."""
    for m in members:
        m.stopping = True
        if m.ws is not None:
            await m.ws.close()
    for task in runners:
        task.cancel()
    await asyncio.gather(*runners, return_exceptions=True)

"""Redis Sentinel failover mid-conversation: nothing confirmed is lost, nothing is duplicated,
and no socket stalls silently (it keeps working, or it is closed and the client resyncs)."""
import asyncio
import json
import random
import time

import pytest
import redis
import websockets
from asgiref.sync import sync_to_async
from rest_framework.authtoken.models import Token

from chat.models import Message
from tests.e2e.conftest import dump_logs, ws_url
from tests.support import processes

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

MASTER = "chatfailover"
SEND_TIMEOUT = 10.0  # no answer and no close in this long = a silently stalled socket


@pytest.fixture
def sentinel_cluster():
    master = processes.redis_server()
    replica = processes.redis_server(replica_of=master.port)
    started = [master, replica]
    try:
        master.wait_ready()
        replica.wait_ready()
        sentinels = [processes.redis_sentinel(master.port, MASTER) for _ in range(3)]
        started += sentinels
        for s in sentinels:
            s.wait_ready()
        _wait_until_ready_for_failover(replica, sentinels)
        yield master, replica, sentinels
    finally:
        for proc in started:
            proc.kill()


def _wait_until_ready_for_failover(replica, sentinels, timeout=30.0):
    """The replica is in sync and every sentinel knows the replica and the two other sentinels."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            info = redis.Redis(port=replica.port, socket_timeout=1).info("replication")
            ready = info.get("master_link_status") == "up"
            for s in sentinels:
                client = redis.Redis(port=s.port, socket_timeout=1, decode_responses=True)
                replicas = client.execute_command("SENTINEL", "REPLICAS", MASTER)
                others = client.execute_command("SENTINEL", "SENTINELS", MASTER)
                ready = ready and len(replicas) == 1 and len(others) == 2
            if ready:
                return
        except redis.RedisError:
            pass
        time.sleep(0.2)
    raise TimeoutError("sentinels did not settle")


def _master_port(sentinels) -> int | None:
    for s in sentinels:
        try:
            addr = redis.Redis(port=s.port, socket_timeout=1).execute_command(
                "SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER)
            return int(addr[1])
        except redis.RedisError:
            continue
    return None


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
        elif kind in ("message_confirmed", "message_failed"):
            fut = self.pending.get(frame["temp_id"])
            if kind == "message_confirmed":
                self._record(frame["message"])
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


def _room_messages(room_id):
    return list(Message.objects.filter(room_id=room_id).order_by("seq").values_list("seq", "id", "temp_id"))


async def test_sentinel_failover_loses_and_duplicates_nothing(daphnes, sentinel_cluster, make_user, make_room):
    master, replica, sentinels = sentinel_cluster
    users = [await sync_to_async(make_user)() for _ in range(4)]
    room = await sync_to_async(make_room)(owner=users[0], members=users[1:], name="failover")
    tokens = [await sync_to_async(lambda u=u: Token.objects.get_or_create(user=u)[0].key)() for u in users]
    env = {"REDIS_SENTINELS": ",".join(f"127.0.0.1:{s.port}" for s in sentinels), "REDIS_MASTER_NAME": MASTER,
           "REDIS_URL": ""}
    procs = await sync_to_async(daphnes)(2, **env)
    members = [Member(f"m{i}", u.id, t, procs, room["id"], home=i % 2) for i, (u, t) in enumerate(zip(users, tokens))]
    runners = [asyncio.create_task(m.run()) for m in members]
    try:
        for m in members:
            await asyncio.wait_for(m.connected.wait(), 20)
        stop = asyncio.Event()
        talkers = [asyncio.create_task(m.converse(stop, 0.15)) for m in members]

        await asyncio.sleep(2.0)
        killed_at = time.monotonic()
        await asyncio.to_thread(master.kill)  # kill -9 mid-conversation
        deadline = time.monotonic() + 30
        while _master_port(sentinels) != replica.port:
            assert time.monotonic() < deadline, "sentinels did not fail over"
            await asyncio.sleep(0.2)
        promoted_at = time.monotonic()
        # after the failover: keep conversing; the last stretch must be delivered live
        await asyncio.sleep(4.0)
        late_from = time.monotonic()
        await asyncio.sleep(4.0)
        stop.set()
        await asyncio.wait_for(asyncio.gather(*talkers), 60)
        late_until = time.monotonic()

        # every member catches up (as after any reconnect): sync from its last contiguous seq
        for m in members:
            await asyncio.wait_for(m.connected.wait(), 30)
            m._more = False
            await m._sync(m.ws)
            await asyncio.wait_for(m.synced.wait(), 30)
            while m.contiguous < max(m.received):
                await m._sync(m.ws)
                await asyncio.wait_for(m.synced.wait(), 30)

        stored = await sync_to_async(_room_messages)(room["id"])
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
        # no socket went deaf: what was sent in the late stretch arrived live at every member that
        # was connected all along (a member whose socket was closed then resynced instead)
        late = [(t, msg) for t, msg in confirmed.items() if late_from <= _confirmed_at(members, t) <= late_until]
        assert late, "messages were sent after the failover"
        for m in members:
            if any(late_from <= at <= late_until for at, _ in m.closes):
                continue
            others = [msg["seq"] for t, msg in late if not t.startswith(m.name + "-")]
            missing = [seq for seq in others if seq not in m.live_at]
            assert missing == [], f"{m.name} missed live delivery of {missing} after the failover"
        print(f"failover: promoted {promoted_at - killed_at:.1f}s after kill; {len(stored)} messages; closes:",
              {m.name: [(round(at - killed_at, 1), c) for at, c in m.closes] for m in members})
    except BaseException:
        print(dump_logs(procs))
        raise
    finally:
        for m in members:
            m.stopping = True
            if m.ws is not None:
                await m.ws.close()
        for task in runners:
            task.cancel()
        await asyncio.gather(*runners, return_exceptions=True)


def _confirmed_at(members, temp_id) -> float:
    for m in members:
        if temp_id in m.confirmed_at:
            return m.confirmed_at[temp_id]
    return 0.0

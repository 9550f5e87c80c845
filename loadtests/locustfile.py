"""Locust scenarios for the chat platform (DESIGN section 2): history pages, send/deliver over
WebSocket, reconnect storm. Point it at any deployment; docs/loadtest.md has the commands.

    .venv/bin/locust -f loadtests/locustfile.py --headless -u 20 -r 10 -t 30s \
        --host http://127.0.0.1:8000 HistoryReader          # or Chatter, ReconnectStorm
    ... --tags history | chat | reconnect                   # the same choice by tag

Environment: LOCUST_USERS="name:password,..." (default: the demo users), LOCUST_ROOM (default: a
room of the user), LOCUST_SEND_INTERVAL, LOCUST_PING_INTERVAL, LOCUST_GAP_GRACE,
LOCUST_CONFIRM_TIMEOUT, LOCUST_PAGE_SIZE, LOCUST_TOKENS, LOCUST_STORM_* and the thresholds'
LOCUST_MAX_FAIL_RATIO, LOCUST_ZERO_FAILURES, LOCUST_BUDGETS, LOCUST_THRESHOLDS (docs/loadtest.md).

Every run is judged by loadtests/thresholds.py (DESIGN section 10's budgets as the exit code).
The budgets under controlled conditions are measured by loadtests/bench_*.py.
"""
from __future__ import annotations

import random
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlencode

import gevent
from gevent.event import AsyncResult, Event
from locust import FastHttpUser, between, constant, events, tag, task
from locust.exception import StopUser

# Locust puts this file's folder on sys.path, not the repository root the harness lives in.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from config.env import env_float, env_int  # noqa: E402
from harness.pacing import next_slot  # noqa: E402
from harness.seqs import SeqTracker  # noqa: E402
from loadtests import storm, thresholds  # noqa: E402, F401 - their listeners judge and report the run
from loadtests.locust_support import (  # noqa: E402
    CLOSED_BY_US,
    SENT,
    ProtocolError,
    SeqDuplicate,
    SeqGap,
    WsSession,
    backoff_delay,
    close_code,
    login_token,
    next_credentials,
    next_seeded,
    report,
    ws_url,
)

ROOM = env_int("LOCUST_ROOM", 0) or None  # no room has id 0: unset
PAGE_SIZE = env_int("LOCUST_PAGE_SIZE", 50)
SEND_INTERVAL = env_float("LOCUST_SEND_INTERVAL", 2.0)     # seconds between one Chatter's sends
PING_INTERVAL = env_float("LOCUST_PING_INTERVAL", 20.0)    # the SPA's heartbeat
GAP_GRACE = env_float("LOCUST_GAP_GRACE", 2.0)             # a hole older than this is a lost message
ANSWER_TIMEOUT = env_float("LOCUST_CONFIRM_TIMEOUT", 10.0)  # confirm / sync / pong deadline
SPAWN_TICK = 1.0  # Locust's dispatcher starts users in batches this far apart (locust/dispatch.py)
STABLE_AFTER = 10.0  # the SPA resets its backoff after a socket lived this long
REJECTED = (4001, 4003)  # the SPA stops reconnecting on these; so do we
CONTENT = "load test — ქართული ტექსტი and English"


@events.test_start.add_listener
def drop_users_without_tasks(environment, **_kwargs) -> None:
    """`--tags chat` filters tasks, but Locust would still spawn the other classes (and fail
    them: no tasks left). Drop those, so a tag selects a scenario just like a class name does.
    test_start fires after the tag filter and before users are dispatched."""
    if environment.user_classes:
        kept = [user_class for user_class in environment.user_classes if user_class.tasks]
        environment.user_classes[:] = kept or environment.user_classes


# --- HTTP side shared by every user ----------------------------------------------------------

class ChatUser(FastHttpUser):
    """Logs in once and knows its rooms; subclasses add the behaviour."""

    abstract = True
    token = ""
    rejected = False

    def on_start(self) -> None:
        seeded = next_seeded()
        if seeded is not None:  # LOCUST_TOKENS: accounts seeded with tokens, one room each
            room, self.token = seeded
            self.username, self.rooms = f"token {self.token[:6]}", [room]
            return
        self.username, password = next_credentials()
        self.token = login_token(self.username, password, self.log_in)
        if not self.token:
            raise StopUser()
        self.rooms = self.list_rooms()

    def log_in(self, username: str, password: str) -> str:
        with self.client.post("/api/auth/token/", json={"username": username, "password": password},
                              name="/api/auth/token/", catch_response=True) as resp:
            if resp.status_code != 200:
                resp.failure(f"login as {username}: HTTP {resp.status_code}")
                return ""
            return resp.json()["token"]

    @property
    def auth(self) -> dict:
        return {"Authorization": f"Token {self.token}"}

    def list_rooms(self) -> list[int]:
        resp = self.client.get("/api/chat/rooms/", headers=self.auth, name="/api/chat/rooms/")
        return [room["id"] for room in resp.json()] if resp.status_code == 200 else []

    def open_socket(self) -> tuple[WsSession, dict] | None:
        """The room's socket after its greeting, or None (`rejected`: refused for good)."""
        started = time.perf_counter()
        session = WsSession(ws_url(self.host, self.room, self.token), self.on_frame, self.on_close)
        try:
            hello = session.open()
        except Exception as exc:  # noqa: BLE001 - any failure to connect is one failed sample
            report("connect -> connection_established", started, exception=exc)
            self.rejected = close_code(exc) in REJECTED
            return None
        report("connect -> connection_established", started)
        return session, hello

    def pick_room(self, first: bool = True) -> int:
        """LOCUST_ROOM, else the user's first (most recently active) room, or a random one."""
        if ROOM is not None:
            return ROOM
        if not self.rooms:
            raise StopUser()  # a user in no room has nothing to load
        return self.rooms[0] if first else random.choice(self.rooms)


# --- 1. history pages ------------------------------------------------------------------------

class HistoryReader(ChatUser):
    """Someone reading: the sidebar, a room's newest page, infinite scroll back with `before`
    cursors, now and then a jump to an older message with `around` (a search hit, a reply)."""

    wait_time = between(0.5, 2.0)

    def on_start(self) -> None:
        super().on_start()
        self.room = None
        self.cursor = None
        self.has_more = False
        self.seen_ids: list[int] = []  # jump targets: ids known to be in the open room

    @tag("history")
    @task(1)
    def refresh_rooms(self) -> None:
        self.rooms = self.list_rooms()

    @tag("history")
    @task(2)
    def open_room(self) -> None:
        self.room = self.pick_room(first=False)
        self.seen_ids = []
        self.load_page("/api/chat/messages/ [newest]")

    @tag("history")
    @task(8)
    def scroll_back(self) -> None:
        if self.room is None or not self.has_more:
            return self.open_room()  # top of the history reached: start over like a new visit
        self.load_page("/api/chat/messages/ [before]", before=self.cursor)

    @tag("history")
    @task(1)
    def jump_around(self) -> None:
        if not self.seen_ids:
            return self.open_room()
        self.load_page("/api/chat/messages/ [around]", around=random.choice(self.seen_ids))

    def load_page(self, name: str, **cursor: int) -> None:
        query = urlencode({"room": self.room, "limit": PAGE_SIZE, **cursor})
        with self.client.get(f"/api/chat/messages/?{query}", headers=self.auth, name=name,
                             catch_response=True) as resp:
            if resp.status_code != 200:
                resp.failure(f"HTTP {resp.status_code}")
                return
            page = resp.json()
            problem = page_problem(page)
            if problem:
                resp.failure(problem)
                return
        self.remember(page)

    def remember(self, page: dict) -> None:
        self.cursor, self.has_more = page["cursor"], page["has_more"]
        self.seen_ids.extend(m["id"] for m in page["messages"][:: max(1, PAGE_SIZE // 5)])
        del self.seen_ids[:-200]  # a handful per page is plenty of jump targets


def page_problem(page: dict) -> str | None:
    """The contract a scrolling client relies on: chronological, and a cursor when more exist."""
    seqs = [m["seq"] for m in page.get("messages", [])]
    if seqs != sorted(set(seqs)):
        return "messages not in ascending seq order"
    if page.get("has_more") and page.get("cursor") is None:
        return "has_more without a cursor"
    return None


# --- 2. send / deliver -----------------------------------------------------------------------

class Chatter(ChatUser):
    """A member chatting in one room over /ws/chat/{room}/: sends at a steady pace, times
    send -> message_confirmed and (for senders in this process) send -> message_new, checks
    that the room's seqs arrive without holes or repeats, and repairs holes with sync_request
    the way the SPA does."""

    def on_start(self) -> None:
        # Locust creates each second's users (-r of them) in one instant; people join
        # independently. Without this, every connect, its sync and the presence it fans out
        # land on the servers together, and the sends of the users already chatting queue
        # behind them (120-190 ms in a probed run, against 5-10 ms once the ramp was over).
        gevent.sleep(random.uniform(0, SPAWN_TICK))
        super().on_start()
        self.room = self.pick_room()
        self.session: WsSession | None = None
        self.tracker: SeqTracker | None = None
        self.pending: dict[str, float] = {}      # temp_id -> first send time
        self.sync: tuple[str, float] | None = None  # (stat name, started) of the sync in flight
        self.ping_started: float | None = None
        self.opened_at = 0.0
        self.attempt = 0
        self.rejected = False
        self.connect()
        self.helpers = [gevent.spawn(self.watch_loop), gevent.spawn(self.ping_loop)]
        # People chatting are independent: each user sends on a phase of its own, drawn at
        # random within the interval. Locust creates each second's users in one instant, so
        # users paced from their creation (constant_pacing, which also undoes a sleep here)
        # send all in the same millisecond every interval: the run then measures a burst of
        # every user's send queueing in the servers, not the steady rate it claims.
        self.next_send = time.perf_counter() + random.uniform(0, SEND_INTERVAL)
        gevent.sleep(max(0.0, self.next_send - time.perf_counter()))

    def wait_time(self) -> float:
        """Until this user's next slot (one every SEND_INTERVAL s on its own phase)."""
        self.next_send = next_slot(self.next_send, SEND_INTERVAL, time.perf_counter())
        return max(0.0, self.next_send - time.perf_counter())

    def on_stop(self) -> None:
        for helper in getattr(self, "helpers", []):
            helper.kill(block=False)
        if getattr(self, "session", None):
            self.session.close()

    @tag("chat")
    @task
    def send_message(self) -> None:
        if self.rejected:
            raise StopUser()
        if self.session is None:
            return self.reconnect()
        temp_id = f"lt-{uuid.uuid4().hex}"
        now = time.perf_counter()
        self.pending[temp_id] = now
        SENT.add(temp_id, now)
        self.session.send({"type": "message_send", "content": CONTENT, "temp_id": temp_id})

    # connection

    def connect(self) -> bool:
        opened = self.open_socket()
        if opened is None:
            return False
        session, hello = opened
        self.session, self.opened_at = session, time.perf_counter()
        if self.tracker is None:
            self.tracker = SeqTracker(room_last_seq(hello, self.room), window=10_000)
        self.tracker.reconnected()  # a duplicate is two live deliveries on one socket
        session.start()
        # Like the SPA: sync on every open (catches what was sent while away, and the race
        # between the server reading last_seq and joining the room group), then retry sends.
        self.request_sync("sync (on connect)")
        for temp_id in list(self.pending):
            session.send({"type": "message_send", "content": CONTENT, "temp_id": temp_id})
        return True

    def reconnect(self) -> None:
        gevent.sleep(backoff_delay(self.attempt))
        self.attempt += 1
        self.connect()

    def on_close(self, code: int | None, reason: str) -> None:
        self.session, self.sync, self.ping_started = None, None, None
        if self.opened_at and time.perf_counter() - self.opened_at >= STABLE_AFTER:
            self.attempt = 0  # the SPA's rule: only a socket that proved stable resets the backoff
        if code == CLOSED_BY_US:
            return
        report("socket closed", exception=ProtocolError(f"code {code}: {reason}"))
        self.rejected = code in REJECTED

    # frames

    def on_frame(self, frame: dict) -> None:
        handler = getattr(self, f"on_{frame.get('type')}", None)
        if handler is not None:
            handler(frame)

    def on_message_confirmed(self, frame: dict) -> None:
        started = self.pending.pop(frame.get("temp_id"), None)
        if started is not None:
            report("message_send -> confirmed", started)
        self.observe(frame["message"]["seq"])

    def on_message_failed(self, frame: dict) -> None:
        self.pending.pop(frame.get("temp_id"), None)
        report("message_send -> confirmed", exception=ProtocolError(f"message_failed: {frame.get('error')}"))

    def on_message_new(self, frame: dict) -> None:
        message = frame["message"]
        sent_at = SENT.sent_at(message.get("temp_id"))
        if sent_at is not None:
            report("message_new (send -> delivered)", sent_at)
        else:  # a sender in another process or a real person: counted, not timed
            report("message_new (other sender, untimed)", millis=0)
        self.observe(message["seq"])

    def on_sync_response(self, frame: dict) -> None:
        if self.sync is not None:
            report(self.sync[0], self.sync[1], length=len(frame.get("messages", [])))
            self.sync = None
        for message in frame.get("messages", []):
            self.tracker.observe(message["seq"], live=False)
        if frame.get("reset"):
            self.tracker.reset(frame.get("last_seq", 0))
        elif frame.get("has_more"):
            self.request_sync("sync (more)")

    def on_pong(self, frame: dict) -> None:
        if self.ping_started is not None:
            report("ping -> pong", self.ping_started)
            self.ping_started = None

    def on_error(self, frame: dict) -> None:
        self.pending.pop(frame.get("temp_id"), None)
        report(f"error frame ({frame.get('code')})", exception=ProtocolError(frame.get("message")))

    def observe(self, seq: int) -> None:
        if self.tracker.observe(seq) == "duplicate":
            report("seq duplicate", exception=SeqDuplicate(f"room {self.room} seq {seq} delivered twice"))

    def request_sync(self, name: str) -> None:
        # Mark it in flight before sending: the answer may be read before send() returns.
        self.sync = (name, time.perf_counter())
        frame = {"type": "sync_request", "last_seq": self.tracker.watermark}
        if not (self.session and self.session.send(frame)):
            self.sync = None

    # background checks

    def watch_loop(self) -> None:
        while True:
            gevent.sleep(0.5)
            self.check_gap()
            self.expire(time.perf_counter() - ANSWER_TIMEOUT)

    def check_gap(self) -> None:
        """A hole that outlived the grace period is a lost message: count it, then repair it."""
        hole = self.tracker.hole() if self.tracker else None
        if hole is None or hole[1] < GAP_GRACE or self.sync is not None:
            return
        missing, age = hole
        report("seq gap", millis=age * 1000, length=missing,
               exception=SeqGap(f"room {self.room}: {missing} missing after seq {self.tracker.watermark}"))
        self.request_sync("sync (gap)")

    def expire(self, deadline: float) -> None:
        for temp_id, started in list(self.pending.items()):
            if started < deadline:
                del self.pending[temp_id]
                report("message_send -> confirmed", started, exception=ProtocolError("no answer"))
        if self.sync is not None and self.sync[1] < deadline:
            report(self.sync[0], self.sync[1], exception=ProtocolError("no sync_response"))
            self.sync = None

    def ping_loop(self) -> None:
        """The SPA's heartbeat: a silent dead socket is only noticed by a ping without a pong."""
        while True:
            gevent.sleep(PING_INTERVAL)
            if self.ping_started is not None and self.session is not None:
                report("ping -> pong", self.ping_started, exception=ProtocolError("no pong"))
                self.session.close()  # dead: the next task reconnects and syncs
                continue
            if self.session is not None:
                self.ping_started = time.perf_counter()  # before send: the pong may beat its return
                if not self.session.send({"type": "ping"}):
                    self.ping_started = None


def room_last_seq(hello: dict, room: int) -> int:
    return next((r["last_seq"] for r in hello.get("rooms", []) if r["room"] == room), 0)


# --- 3. reconnect storm ----------------------------------------------------------------------

class ReconnectStorm(ChatUser):
    """Clients that all drop at once and come back (a network blip, a load balancer restart):
    each connects, syncs, and holds its socket; at every storm (wall-clock multiples of
    LOCUST_STORM_EVERY, the same instant in every Locust process) every connected client drops
    its socket without a close frame, waits the SPA's first backoff (0.25-0.5 s), reconnects
    through the proxy and sends `sync_request` from the last seq it holds. `storm: drop ->
    synced` is the time from its drop to the last `sync_response`; not back within
    LOCUST_STORM_DEADLINE (10 s) is a failure. loadtests/storm.py counts the clients per storm
    and reads the proxy's spread of the reconnections."""

    wait_time = constant(0)  # the storm schedule is the wait

    def on_start(self) -> None:
        super().on_start()
        self.room = self.pick_room()
        self.last_seq: int | None = None
        self.answer: AsyncResult | None = None
        self.session: WsSession | None = None
        self.lost = Event()  # set when the server ends the socket between storms
        self.dropped: tuple[int, float] | None = None  # (storm number, when we dropped)

    def on_stop(self) -> None:
        if getattr(self, "session", None):
            self.session.close()

    @tag("reconnect")
    @task
    def cycle(self) -> None:
        if self.session is None:
            self.come_back()
        else:
            self.hold_until_storm()

    def hold_until_storm(self) -> None:
        number, at = storm.next_storm()
        if self.lost.wait(timeout=max(0.0, at - time.time())):
            self.session = None  # the server closed it: reconnect now, not part of a storm
            return
        self.dropped = (number, time.perf_counter())
        storm.note_drop(self.environment, number)
        self.session.drop()
        self.session = None
        gevent.sleep(backoff_delay(0))  # an established socket dropped: the SPA's attempt 0

    def come_back(self) -> None:
        """Reconnect with the SPA's backoff until connected and synced."""
        attempt = 0
        while (session := self.connect_and_sync()) is None:
            self.check_deadline()
            attempt += 1
            gevent.sleep(backoff_delay(attempt))
        self.session = session
        if self.dropped is not None:
            took = time.perf_counter() - self.dropped[1]
            late = ProtocolError(f"back after {took:.1f} s") if took > storm.DEADLINE else None
            report("storm: drop -> synced", millis=took * 1000, exception=late)
            self.dropped = None

    def check_deadline(self) -> None:
        if self.dropped is not None and time.perf_counter() - self.dropped[1] > storm.DEADLINE:
            report("storm: drop -> synced", self.dropped[1],
                   exception=ProtocolError(f"not back within {storm.DEADLINE:g} s"))
            self.dropped = None  # counted once; it still comes back for the next storm

    def connect_and_sync(self) -> WsSession | None:
        self.lost = Event()
        opened = self.open_socket()
        if opened is None:
            if self.rejected:
                raise StopUser()  # bad token or not a member: retrying cannot help
            return None
        session, hello = opened
        if self.last_seq is None:
            self.last_seq = room_last_seq(hello, self.room)
        session.start()
        while (more := self.sync_once(session)) is True:
            pass
        return session if more is False else None

    def sync_once(self, session: WsSession) -> bool | None:
        """One sync round trip; True when there is more to fetch, None when it failed."""
        self.answer = AsyncResult()
        started = time.perf_counter()
        if not session.send({"type": "sync_request", "last_seq": self.last_seq}):
            report("sync after reconnect", started, exception=ProtocolError("socket gone"))
            return None
        frame = self.answer.wait(ANSWER_TIMEOUT)
        if frame is None:
            report("sync after reconnect", started, exception=ProtocolError("no sync_response"))
            session.close()
            return None
        report("sync after reconnect", started, length=len(frame.get("messages", [])))
        seqs = [m["seq"] for m in frame.get("messages", [])]
        self.last_seq = max([self.last_seq, *seqs])
        if frame.get("reset"):
            self.last_seq = frame.get("last_seq", self.last_seq)
        return bool(frame.get("has_more")) and not frame.get("reset")

    def on_frame(self, frame: dict) -> None:
        kind = frame.get("type")
        if kind == "sync_response" and self.answer is not None:
            self.answer.set(frame)
        elif kind == "message_new" and frame["message"]["seq"] == (self.last_seq or 0) + 1:
            self.last_seq += 1  # only an unbroken run moves the cursor; a hole waits for the next sync

    def on_close(self, code: int | None, reason: str) -> None:
        if code != CLOSED_BY_US:
            report("socket closed", exception=ProtocolError(f"code {code}: {reason}"))
            self.lost.set()

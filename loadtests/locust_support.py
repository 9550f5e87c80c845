"""Plumbing for loadtests/locustfile.py: the accounts to log in as, the WebSocket session
(websocket-client under Locust's gevent), reporting into Locust's stats and the SPA's
reconnect backoff (seq bookkeeping: harness.seqs). Nothing here knows about Locust user classes.
"""
from __future__ import annotations

import itertools
import os
import random
import struct
import time
from collections import OrderedDict
from pathlib import Path
from typing import Callable
from urllib.parse import urlencode, urlsplit, urlunsplit

import gevent
from gevent.event import AsyncResult
import orjson
import websocket
from locust import events

DEMO_USERS = "nino:chat-demo-2026,giorgi:chat-demo-2026,alice:chat-demo-2026"
WS = "WS"  # request_type of every WebSocket measurement, so they group apart from HTTP


# --- settings --------------------------------------------------------------------------------

def parse_credentials(raw: str) -> list[tuple[str, str]]:
    """`name:password,name:password`; the password may itself contain colons."""
    pairs = []
    for item in raw.split(","):
        name, sep, password = item.strip().partition(":")
        if not sep or not name:
            raise ValueError(f"LOCUST_USERS entry {item!r} is not name:password")
        pairs.append((name, password))
    if not pairs:
        raise ValueError("LOCUST_USERS is empty")
    return pairs


CREDENTIALS = parse_credentials(os.environ.get("LOCUST_USERS", "") or DEMO_USERS)
_next_credential = itertools.count()


def next_credentials() -> tuple[str, str]:
    """Round robin, so 20 simulated users spread over however many real accounts there are."""
    return CREDENTIALS[next(_next_credential) % len(CREDENTIALS)]


_tokens: dict[str, AsyncResult] = {}


def login_token(username: str, password: str, log_in: Callable[[str, str], str]) -> str:
    """One log-in per account and process, shared by its simulated users: the server throttles
    log-ins per account and per address (10 and 30 a minute), and hashing a password per user
    would measure PBKDF2 instead of chat. `log_in` returns the token or "" (then the next user
    of the account tries again)."""
    pending = _tokens.get(username)
    if pending is not None:
        token = pending.get()
        if token:
            return token
    _tokens[username] = result = AsyncResult()
    token = log_in(username, password)
    result.set(token)
    if not token:
        del _tokens[username]
    return token


def parse_seeded(text: str) -> list[tuple[int, str]]:
    """LOCUST_TOKENS' file: one `room token` pair a line (accounts seeded with a token each)."""
    pairs = []
    for line in filter(None, (raw.strip() for raw in text.splitlines())):
        room, token = line.split()
        pairs.append((int(room), token))
    return pairs


SEEDED = parse_seeded(Path(os.environ["LOCUST_TOKENS"]).read_text()) if os.environ.get("LOCUST_TOKENS") else []
_next_seeded = itertools.count()


def next_seeded() -> tuple[int, str] | None:
    """The next seeded (room, token), round robin, or None without LOCUST_TOKENS."""
    return SEEDED[next(_next_seeded) % len(SEEDED)] if SEEDED else None


# --- reporting -------------------------------------------------------------------------------

def report(name: str, started: float | None = None, *, millis: float | None = None,
           length: int = 0, exception: BaseException | None = None) -> None:
    """One sample into Locust's stats under request_type WS; a sample with an exception is a failure."""
    if millis is None:
        millis = (time.perf_counter() - started) * 1000 if started is not None else 0.0
    events.request.fire(request_type=WS, name=name, response_time=millis,
                        response_length=length, exception=exception, context={})


class SeqGap(Exception):
    """Messages missing from a room's seq run (live delivery lost them; sync must repair)."""


class SeqDuplicate(Exception):
    """The same seq delivered twice live: the server broke exactly-once delivery."""


class ProtocolError(Exception):
    """A frame we did not expect: message_failed, error, a close code, a missing answer."""


# --- reconnect backoff -----------------------------------------------------------------------

def backoff_delay(attempt: int, base: float = 0.5, ceiling: float = 30.0,
                  rand: Callable[[], float] = random.random) -> float:
    """The SPA's backoff (frontend/src/lib/realtime/backoff.ts): exponential with equal jitter,
    half fixed, half random, so a storm spreads out but nobody retries instantly."""
    step = min(ceiling, base * 2 ** max(0, attempt))
    return step / 2 + rand() * step / 2


# --- URLs ------------------------------------------------------------------------------------

def ws_url(host: str, room: int, token: str) -> str:
    """The one-room socket URL for an http(s) --host; ws(s) follows the scheme, path prefix kept."""
    parts = urlsplit(host)
    scheme = "wss" if parts.scheme == "https" else "ws"
    path = f"{parts.path.rstrip('/')}/ws/chat/{room}/"
    return urlunsplit((scheme, parts.netloc, path, urlencode({"token": token}), ""))


# --- sends in flight, shared by the users of this process ------------------------------------

class SentRegistry:
    """temp_id -> when it was sent, so a receiver in the same Locust process can time
    send -> message_new. Bounded by age: a message fans out to many receivers, so entries
    cannot be dropped on first delivery."""

    def __init__(self, keep_seconds: float = 120.0):
        self.keep = keep_seconds
        self.sent: OrderedDict[str, float] = OrderedDict()

    def add(self, temp_id: str, at: float) -> None:
        self.sent[temp_id] = at
        horizon = at - self.keep
        while self.sent and next(iter(self.sent.values())) < horizon:
            self.sent.popitem(last=False)

    def sent_at(self, temp_id: str | None) -> float | None:
        return self.sent.get(temp_id) if temp_id else None


SENT = SentRegistry()


# --- one WebSocket ---------------------------------------------------------------------------

def close_code(exc: BaseException) -> int | None:
    """The WebSocket close code a failed read or open() carries (see WsSession._read_one)."""
    return exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], int) else None


CLOSED_BY_US = -1  # close "code" passed to on_close when we closed the socket ourselves


class WsSession:
    """A websocket-client socket plus a reader greenlet. Locust monkey-patches sockets, so the
    blocking calls yield to other users. Frames go to `on_frame(dict)`, the end to
    `on_close(code, reason)` exactly once."""

    def __init__(self, url: str, on_frame: Callable[[dict], None],
                 on_close: Callable[[int | None, str], None], connect_timeout: float = 10.0):
        self.url = url
        self.on_frame = on_frame
        self.on_close = on_close
        self.connect_timeout = connect_timeout
        self.ws: websocket.WebSocket | None = None
        self.reader: gevent.Greenlet | None = None
        self.early: list[dict] = []
        self.closed = False

    def open(self) -> dict:
        """Connect and wait for connection_established (returned). Frames that beat it (a
        broadcast between the server joining the room group and greeting us) are kept and
        handed on after it, in order. Raises on failure or a close instead of a greeting."""
        # skip_utf8_validation: websocket-client checks text frames byte by byte in Python, 5-6
        # times the cost of reading a frame (loadtests/read_cost.py: 0.08 against 0.014 ms), and
        # orjson.loads rejects invalid UTF-8 in _read_one anyway.
        self.ws = websocket.create_connection(self.url, timeout=self.connect_timeout,
                                              enable_multithread=True, skip_utf8_validation=True)
        early: list[dict] = []
        while True:
            frame = self._read_one()
            if frame.get("type") == "connection_established":
                break
            early.append(frame)
        self.ws.settimeout(None)  # from here on silence is normal; the app ping watches liveness
        self.early = early
        return frame

    def start(self) -> None:
        """Start delivering frames. Separate from open() so the caller can set up its state
        from the greeting before the first message_new can reach it."""
        self.reader = gevent.spawn(self._read_loop, self.early)

    def send(self, frame: dict) -> bool:
        """False when the socket is gone (the caller keeps the frame for after the reconnect)."""
        if self.closed or self.ws is None:
            return False
        try:
            self.ws.send(orjson.dumps(frame).decode())
            return True
        except (websocket.WebSocketException, OSError):
            return False

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        try:
            if self.ws is not None:
                self.ws.close(timeout=1)
        except (websocket.WebSocketException, OSError):
            pass
        if self.reader is not None and self.reader is not gevent.getcurrent():
            self.reader.kill(block=False)
        self.on_close(CLOSED_BY_US, "closed by the load test")

    def drop(self) -> None:
        """Lose the connection without a close frame, like a network drop (no on_close)."""
        if self.closed:
            return
        self.closed = True
        if self.reader is not None and self.reader is not gevent.getcurrent():
            self.reader.kill(block=False)
        if self.ws is not None:
            self.ws.shutdown()

    def _read_one(self) -> dict:
        opcode, data = self.ws.recv_data()
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            code = struct.unpack("!H", data[:2])[0] if len(data) >= 2 else None
            raise websocket.WebSocketConnectionClosedException(f"closed with code {code}", code)
        return orjson.loads(data)

    def _read_loop(self, early: list[dict]) -> None:
        for frame in early:
            self.on_frame(frame)
        while not self.closed:
            try:
                frame = self._read_one()
            except (websocket.WebSocketException, OSError, orjson.JSONDecodeError) as exc:
                return self._lost(exc)
            self.on_frame(frame)

    def _lost(self, exc: BaseException) -> None:
        if self.closed:
            return
        self.closed = True
        code = close_code(exc)
        self.ws.shutdown()  # the server already ended it; just release the socket
        reason = exc.args[0] if exc.args and isinstance(exc.args[0], str) else type(exc).__name__
        self.on_close(code, reason)

"""The chat socket: `/ws/chat/{room_id}/` (one room) and `/ws/chat/` (every room of the user).

Thin by rule: validate a frame, call one chat.actions / chat.queries function, reply. Room and
user events come from this process's hub (apps/ws/hub.py) as ready-made frames, written to the
socket by its outlet (apps/ws/outlet.py); no per-socket channel-layer receive runs.
"""
import asyncio
import collections
import logging
import time

import orjson
from channels.consumer import get_handler_name
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from accounts import tokens
from apps.ws import db, hub, outlet, process
from apps.ws.limits import FRAME_COST, TokenBucket
from apps.ws.receipts import ReceiptCoalescer
from chat import actions, events, frames, metrics, queries, tracing
from chat.errors import ChatError, InvalidInput
from chat.presence import TooManySockets
from chat.text import clean_id, clean_temp_id, nested_deeper_than, refuse_lone_surrogates

log = logging.getLogger(__name__)

NOT_AUTHENTICATED, FORBIDDEN, NOT_FOUND, POLICY, TOO_MANY_SOCKETS = 4001, 4003, 4004, 4008, 4029
TRY_AGAIN_LATER = 1013  # the socket did not read its frames: reconnect and sync
STALE_TYPING_SECONDS = 1.0  # a typing event older than this is backlog: drop it first
OWN_TEMP_IDS = 256  # sends remembered per socket, so a repaired message skips its own sender


def _frame_bytes(raw: str | bytes) -> int:
    """The frame's size in bytes (the limit is on the wire, where Georgian text is 3 bytes a
    character); encoding is needed only when the character count could be over it."""
    if isinstance(raw, bytes):
        return len(raw)
    if len(raw) * 4 <= settings.CHAT_WS_MAX_FRAME_BYTES:
        return len(raw)
    return len(raw.encode("utf-8", "surrogatepass"))


class UnknownPathConsumer(AsyncWebsocketConsumer):
    """Any other WebSocket path: accepted, then closed with 4004 (a handshake refused before
    accept reaches browsers as a bare failure, with no code to act on)."""

    channel_layer_alias = "none: nothing is delivered here"

    async def connect(self):
        await self.accept()
        metrics.WS_CLOSES.labels(str(NOT_FOUND)).inc()
        await self.close(code=NOT_FOUND)


class ChatConsumer(AsyncWebsocketConsumer):
    # No such channel layer: Channels starts no per-socket channel receive. Room and user events
    # arrive through this process's hub, which subscribes once per room for all its sockets.
    channel_layer_alias = "none: events come through apps.ws.hub"
    user = None
    token_id = None  # the token's digest (None for a cookie socket)
    token_expires_at = None
    rooms: set[int] = set()
    closed = False

    # --- lifecycle --------------------------------------------------------------------------

    async def __call__(self, scope, receive, send):
        """Channels' AsyncConsumer.__call__ for a consumer with no channel layer: one awaited
        receive per frame. Channels waits on its sources through a new task and an asyncio.wait
        for every frame (await_many_dispatch), which is there to watch a channel layer beside the
        socket; with the socket as the only source that is work for nothing on every frame
        (cProfile of a running ws process; docs/benchmarks.md, the night set)."""
        self.scope = scope
        self.channel_layer = None
        self.base_send = send
        try:
            while True:
                await self.dispatch(await receive())
        except StopConsumer:
            pass

    async def dispatch(self, message):
        """Channels closes stale DB connections before every event, on its one shared DB thread;
        our domain calls run on a pool with their own connection care (apps.ws.db), so skip it."""
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"no handler for message type {message['type']}")
        await handler(message)

    async def connect(self):
        await self.accept()
        process.accepted(self)  # from here on a drain waits for this socket's close
        self.socket_id = process.new_socket_id()
        self.user = self.scope.get("user")
        self.room_id = self.scope["url_route"]["kwargs"].get("room_id")
        self.bucket = TokenBucket(settings.CHAT_WS_RATE_PER_SECOND, settings.CHAT_WS_RATE_BURST)
        self.receipts = ReceiptCoalescer(settings.CHAT_RECEIPT_COALESCE_SECONDS, self._flush_receipt)
        self.typing_sent: dict[int, float] = {}
        self.sent_seq: dict[int, int] = {}  # room -> newest message seq written to this socket
        self.held_confirms: dict[int, dict] = {}  # room -> {seq: (frame, future)}: own confirmations held
        self.own_temp_ids: collections.OrderedDict = collections.OrderedDict()
        token_key = self.scope.get("token_key")  # a token socket: resolved with its rooms, below
        by_cookie = bool(self.user and self.user.is_authenticated and self.scope.get("auth_via"))
        if token_key is None and not by_cookie:
            return await self.close_with(NOT_AUTHENTICATED)
        await process.ensure_running()  # this process is registered alive before sockets count on it
        try:
            summary = await db.call(self._open_session, token_key)
        except TooManySockets as exc:
            await self.send_error(exc.message, exc.code)
            return await self.close_with(TOO_MANY_SOCKETS)
        if summary is None:
            return await self.close_with(NOT_AUTHENTICATED)
        if self.room_id is not None and not summary:
            return await self.close_with(FORBIDDEN)
        self.presence_counted = True
        self.rooms = {r["room"] for r in summary}
        self.outlet = outlet.outlet_for(self)
        metrics.WS_CONNECTIONS.inc()
        process.register(self)
        await self.send_frame(frames.connection_established(
            user_id=self.user.id, room_id=self.room_id,
            last_message_id=summary[0]["last_message_id"] if self.room_id is not None else None,
            rooms=[{"room": r["room"], "last_seq": r["last_seq"]} for r in summary]))
        self._join(summary)
        self._close_at_expiry(self.token_expires_at)

    def _close_at_expiry(self, expires_at) -> None:
        """The token's end is the socket's end: it closes with 4001 when its token expires."""
        if expires_at is None:
            return
        delay = max(0.0, expires_at.timestamp() - time.time())
        self.expiry_timer = asyncio.get_running_loop().call_later(
            delay, lambda: self._end_session("the token expired"))

    def session_ended(self, why: str) -> None:
        """The hub found this socket's session over (apps/ws/hub.py check_users)."""
        self._end_session(why)

    def _end_session(self, why: str) -> None:
        if self._mark_closed(NOT_AUTHENTICATED):
            log.info("closing socket %s of user %s: %s", self.socket_id, self.user.id, why)
            self._spawn(self.close(code=NOT_AUTHENTICATED))

    def _join(self, summary: list[dict]) -> None:
        """Live feeds from the state this socket was just told (no await in between)."""
        self.hub = hub.hub(process.PROCESS_ID)
        for r in summary:
            self.hub.join_room(self, r["room"], r["last_seq"], r["last_change_seq"])
        # Every socket follows its user's channel: session ends (logout, deactivation) for all,
        # and, on all-rooms sockets, the rooms added to the user.
        self.hub.join_user(self, self.user.id)
        self.joined = True

    def _open_session(self, token_key: str | None) -> list[dict] | None:
        """Who is on the socket (its token resolved), its rooms, and the socket counted for
        presence: one trip to the thread pool (connects per second are bound by this process's
        CPU, and each trip costs some). None: the token is not a live session."""
        if token_key is not None:
            session = tokens.resolve(token_key)
            if session is None:
                return None
            # The session (token digest, expiry) lets the socket follow its token: it closes
            # when the token is revoked or expires.
            self.user, self.token_id, self.token_expires_at = session.user, session.token_id, session.expires_at
        summary = queries.rooms_for_socket(self.user.id, self.room_id)
        if summary or self.room_id is None:
            actions.socket_opened(self.user, process.PROCESS_ID, cap=settings.CHAT_WS_MAX_SOCKETS_PER_USER)
        return summary

    async def close_with(self, code: int):
        self._mark_closed(code)
        await self.close(code=code)

    def _mark_closed(self, code: int) -> bool:
        """Closed from now on (no more deliveries), counted once; False if it was already."""
        if self.closed:
            return False
        metrics.WS_CLOSES.labels(str(code)).inc()
        self.closed = True
        self._leave_feeds()
        return True

    async def disconnect(self, code):
        if not self.closed:  # closes we started were counted with their code already
            metrics.WS_CLOSES.labels(_close_label(code)).inc()
        await self._leave()

    def _leave_feeds(self) -> None:
        if not getattr(self, "joined", False):
            return
        self.joined = False
        metrics.WS_CONNECTIONS.dec()
        for room_id in self.rooms:
            self.hub.leave_room(self, room_id)
        self.hub.leave_user(self, self.user.id)

    async def _leave(self):
        if getattr(self, "left", False):
            return
        self.left = True
        if hasattr(self, "receipts"):
            self.receipts.cancel()
        if getattr(self, "expiry_timer", None) is not None:
            self.expiry_timer.cancel()
        self._leave_feeds()
        if getattr(self, "presence_counted", False):
            try:
                await db.call(actions.socket_closed, self.user, process.PROCESS_ID)
            except Exception:  # noqa: BLE001 - the dead-process reaper settles it
                log.warning("presence decrement failed", exc_info=True)

    # --- frames from the client -------------------------------------------------------------

    async def receive(self, text_data=None, bytes_data=None):
        if self.closed:
            return
        raw = text_data if text_data is not None else bytes_data
        if raw is None or _frame_bytes(raw) > settings.CHAT_WS_MAX_FRAME_BYTES:
            return await self.close_with(POLICY)
        try:
            frame = orjson.loads(raw)
        except orjson.JSONDecodeError:
            frame = None
        kind = frame.get("type") if isinstance(frame, dict) else None
        if not self.bucket.take(FRAME_COST.get(kind, 1.0) if isinstance(kind, str) else 1.0):
            metrics.WS_RATE_LIMITED.inc()
            if self.bucket.abusive:
                return await self.close_with(POLICY)
            temp_id = frame.get("temp_id") if isinstance(frame, dict) else None
            return await self.send_error("too many frames: slow down", "rate_limited",
                                         temp_id if isinstance(temp_id, str) else None)
        if frame is None:
            return await self.send_error("frames are JSON objects", "invalid_json")
        if nested_deeper_than(frame, settings.CHAT_JSON_MAX_DEPTH):
            return await self.send_error(f"frames nest at most {settings.CHAT_JSON_MAX_DEPTH} levels", "too_deep")
        if not isinstance(kind, str):
            return await self.send_error("a frame is a JSON object with a string `type`", "invalid_frame")
        handler = self.HANDLERS.get(frame["type"])
        if handler is None:
            return await self.send_error(f"unknown frame type {frame['type'][:40]!r}", "unknown_type")
        try:
            refuse_lone_surrogates(frame)  # orjson refuses them too; both edges apply the rule
            await handler(self, frame)
        except ChatError as exc:
            await self.send_error(exc.message, exc.code, frame.get("temp_id") if isinstance(frame.get("temp_id"), str) else None, exc.field)
        except Exception:  # noqa: BLE001 - no frame ends the consumer
            log.exception("frame %s failed", frame["type"])
            await self.send_error("the server could not handle this frame", "server_error")

    def frame_room(self, frame: dict) -> int:
        """The room a frame is about: its `room`, or the socket's own room."""
        if frame.get("room") is None:
            if self.room_id is None:
                raise InvalidInput("room is required on /ws/chat/", field="room")
            return self.room_id
        room_id = clean_id(frame["room"], "room")
        if room_id not in self.rooms:
            raise ChatError("not a member of this room", field="room", code="forbidden")
        return room_id

    async def on_message_send(self, frame):
        # The span's context follows the domain call onto its thread (asgiref copies contextvars)
        # and into the published event, so the deliveries on every process join this trace. A
        # valid `traceparent` in the frame makes it a child of the SPA's own span (else ignored).
        parent = tracing.remote_context(frame.get("traceparent"))
        with tracing.span("ws message_send", tracing.SERVER, {"chat.user": self.user.id}, context=parent):
            await self._message_send(frame)

    async def _message_send(self, frame):
        started = time.perf_counter()
        room_id = self.frame_room(frame)
        temp_id = clean_temp_id(frame.get("temp_id"))
        tracing.annotate(**{"chat.room": room_id, "chat.temp_id": temp_id})
        await self.send_frame(frames.message_pending(temp_id))
        self._remember_send(temp_id)
        fields = {"room_id": room_id, "content": frame.get("content"), "temp_id": temp_id,
                  "message_type": frame.get("message_type", "text"), "origin": self.socket_id}
        try:
            # On the loop when it can (PostgreSQL); a retried temp_id or a refusal goes the thread way.
            held = []  # the stored message's confirmation, written or held before it is published
            result = (await actions.send_message_async(
                self.user, **fields, on_stored=lambda message: held.append(self._confirm_or_hold(room_id, temp_id, message)))
                or await db.call(actions.send_message, self.user, **fields))
        except ChatError as exc:
            return await self.send_frame(frames.message_failed(temp_id=temp_id, error=exc.message, code=exc.code))
        except Exception:  # noqa: BLE001
            log.exception("send failed")
            return await self._send_outcome_unknown(room_id, temp_id)
        if not held:  # the thread path: stored and published there
            held.append(self._confirm_or_hold(room_id, temp_id, result.message))
        if held[0] is not None:
            await self._confirmation_written(room_id, *held[0])
        metrics.MESSAGE_SEND_SECONDS.observe(time.perf_counter() - started)

    def _confirm_or_hold(self, room_id: int, temp_id: str, message: dict) -> tuple | None:
        """message_confirmed, written after the room's messages before it. The confirmation comes
        straight from the send, while another member's message just before it comes through
        Redis (or, after an outage, through the hub's repair): ahead of it, the client would see a
        seq past its next and sync for a message that was on its way. Called as soon as the
        message is stored (before it is published, with no await in between, so no later
        delivery can slip ahead): written now when the socket has everything before it, else
        held (returns (seq, frame, future)) and written by the delivery that completes the run
        (`_flush_held`, synchronously, before anything newer), by a `resync` signal, or after
        CHAT_CONFIRM_ORDER_WAIT_SECONDS (the client's gap sync is then the backstop)."""
        frame = events.encode(frames.message_confirmed(temp_id, message))
        seq = message["seq"]
        if self.sent_seq.get(room_id, 0) >= seq - 1:
            self._write_own(frame)
            self._feed_moved(room_id, seq)  # its own message is not published to this socket
            return None
        written = asyncio.get_running_loop().create_future()
        self.held_confirms.setdefault(room_id, {})[seq] = (frame, written)
        return seq, frame, written

    async def _confirmation_written(self, room_id: int, seq: int, frame: bytes, written) -> None:
        try:
            how = await asyncio.wait_for(asyncio.shield(written), settings.CHAT_CONFIRM_ORDER_WAIT_SECONDS)
        except TimeoutError:
            held = self.held_confirms.get(room_id, {})
            if held.pop(seq, None) is not None:
                self._write_own(frame)  # out of order: the client syncs
            if not held:
                self.held_confirms.pop(room_id, None)
            how = "timed_out"
        metrics.CONFIRMATIONS_HELD.labels(how).inc()

    def _write_own(self, frame: bytes) -> None:
        if not self.closed:
            self.outlet.write_own(frame)

    async def _send_outcome_unknown(self, room_id: int, temp_id: str):
        """The database failed mid-send: whether the commit landed is unknown. Look it up by
        temp_id, so the answer is true either way (exactly-once rests on temp_id)."""
        try:
            stored = await db.call(queries.message_by_temp_id, room_id, self.user.id, temp_id)
        except Exception:  # noqa: BLE001
            stored = None
        if stored is not None:  # confirmed after the room's messages before it, as any send
            held = self._confirm_or_hold(room_id, temp_id, stored)
            if held is not None:
                await self._confirmation_written(room_id, *held)
            return
        await self.send_frame(frames.message_failed(
            temp_id=temp_id, error="not stored: the database is unavailable, retry", code="unavailable"))

    # A one-room socket changes only the messages of its room (self.room_id; None: any room of
    # the user); another room's message is not found, as for a non-member.
    async def on_message_edit(self, frame):
        await db.call(actions.edit_message, self.user, message_id=frame.get("message_id"), content=frame.get("content"),
                      room_id=self.room_id)

    async def on_message_delete(self, frame):
        await db.call(actions.delete_message, self.user, frame.get("message_id"), room_id=self.room_id)

    async def on_reaction(self, frame):
        action = frame.get("action", "add")
        if action not in ("add", "remove"):
            raise InvalidInput("action is 'add' or 'remove'", field="action")
        await db.call(actions.set_reaction, self.user, message_id=frame.get("message_id"), emoji=frame.get("emoji"),
                      present=action == "add", room_id=self.room_id)

    async def on_typing(self, frame):
        room_id = self.frame_room(frame)
        is_typing = frame.get("is_typing", True)
        now = time.monotonic()
        if is_typing is True and now - self.typing_sent.get(room_id, 0.0) < 1.0:
            return  # a refresh within a second adds nothing: clients expire after ~6 s
        self.typing_sent[room_id] = now if is_typing is True else 0.0
        await db.call(actions.set_typing, self.user, room_id=room_id, is_typing=is_typing, origin=self.socket_id)

    async def on_mark_delivered(self, frame):
        await self.receipts.mark(self.frame_room(frame), "delivered", clean_id(frame.get("message_id"), "message_id"))

    async def on_mark_read(self, frame):
        await self.receipts.mark(self.frame_room(frame), "read", clean_id(frame.get("message_id"), "message_id"))

    async def _flush_receipt(self, room_id: int, kind: str, message_id: int):
        try:
            await db.call(actions.mark, self.user, room_id=room_id, message_id=message_id, kind=kind)
        except ChatError as exc:
            await self.send_error(exc.message, exc.code, field=exc.field)
        except Exception:  # noqa: BLE001 - a lost mark is re-sent by the client's next one
            log.warning("receipt write failed", exc_info=True)

    async def on_sync_request(self, frame):
        started = time.perf_counter()
        room_id = self.frame_room(frame)
        answer = await db.call(queries.changes_since_cursor, self.user.id, room_id, last_seq=frame.get("last_seq"),
                               last_message_id=frame.get("last_message_id"),
                               since_change_seq=frame.get("since_change_seq"))
        await self.send_frame(frames.sync_response(answer))
        metrics.SYNC_SECONDS.observe(time.perf_counter() - started)
        metrics.SYNC_MESSAGES.observe(len(answer["messages"]) + len(answer["updated"]))
        if answer["reset"]:
            metrics.SYNC_RESETS.inc()

    async def on_ping(self, frame):
        await self.send_frame(frames.pong())

    HANDLERS = {
        "message_send": on_message_send,
        "message_edit": on_message_edit,
        "message_delete": on_message_delete,
        "reaction": on_reaction,
        "typing": on_typing,
        "mark_delivered": on_mark_delivered,
        "mark_read": on_mark_read,
        "sync_request": on_sync_request,
        "ping": on_ping,
    }

    # --- events from this process's hub -----------------------------------------------------

    def _remember_send(self, temp_id: str) -> None:
        self.own_temp_ids[temp_id] = None
        if len(self.own_temp_ids) > OWN_TEMP_IDS:
            self.own_temp_ids.popitem(last=False)

    def deliver(self, d) -> None:
        """One publication for this socket (apps.ws.delivery.Delivery). Synchronous and cheap:
        the hub calls it for every local socket of the room, one after the other."""
        if self.closed or d.exclude == self.socket_id:
            return
        if d.kind == events.SESSIONS_ENDED:
            if d.token is None or d.token == self.token_id:
                self._end_session("its session ended")
            return
        if d.seq is not None:
            if d.seq <= self.sent_seq.get(d.room, 0):
                return  # this socket has it already (it joined with it, or caught up)
            self.sent_seq[d.room] = d.seq
            if d.temp_id is not None and d.sender == self.user.id and d.temp_id in self.own_temp_ids:
                # a repaired message sent from this very socket: its message_confirmed stands for it
                return self._flush_held(d.room)
            if self.held_confirms:
                self._write(d)
                return self._flush_held(d.room)
        elif d.kind in ("room_added", "room_removed"):
            return self._spawn(self._room_added(d) if d.kind == "room_added" else self._room_removed(d))
        elif d.kind == "typing" and time.time() - d.ts > STALE_TYPING_SECONDS:
            metrics.WS_FRAMES_DROPPED.labels("typing").inc()
            return
        self._write(d)

    def _feed_moved(self, room_id: int, seq: int) -> None:
        if seq > self.sent_seq.get(room_id, 0):
            self.sent_seq[room_id] = seq
        self._flush_held(room_id)

    def _flush_held(self, room_id: int) -> None:
        """Write the held confirmations the socket's feed has now reached, in seq order, each
        moving the feed past its own message."""
        held = self.held_confirms.get(room_id)
        while held and min(held) <= self.sent_seq.get(room_id, 0) + 1:
            seq = min(held)
            frame, written = held.pop(seq)
            self._write_own(frame)
            self.sent_seq[room_id] = max(seq, self.sent_seq.get(room_id, 0))
            if not written.done():
                written.set_result("in_order")
        if held is not None and not held:
            del self.held_confirms[room_id]

    def _write(self, d) -> None:
        if d.trace:
            with tracing.continued_span(d.trace, "ws deliver", attributes={"chat.frame": d.kind}):
                outcome = self.outlet.write(d)
        else:
            outcome = self.outlet.write(d)
        if outcome == outlet.DROPPED and d.droppable:
            metrics.WS_FRAMES_DROPPED.labels(d.kind).inc()
        elif outcome == outlet.OVERFLOW and self._mark_closed(TRY_AGAIN_LATER):
            metrics.WS_SLOW_SOCKET_CLOSES.inc()
            log.info("closing socket %s of user %s: it does not read its frames", self.socket_id, self.user.id)
            self._spawn(self.close(code=TRY_AGAIN_LATER))

    def resync(self, room_id: int, reason: str) -> None:
        """The hub could not deliver everything live: the client syncs that room itself."""
        if not self.closed:
            self._spawn(self.send_frame(frames.resync(room_id, reason)))
            # The messages a held confirmation waits for will not come live: it goes now.
            self._flush_resync(room_id)

    def _flush_resync(self, room_id: int) -> None:
        held = self.held_confirms.pop(room_id, None)
        while held:
            frame, written = held.pop(min(held))
            self._write_own(frame)  # the feed is not moved: the messages before it may still come
            if not written.done():
                written.set_result("resync")

    def _spawn(self, coro) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        task.add_done_callback(_log_failure)

    async def _room_added(self, d):
        await self._follow_room(d.room, d.text)

    async def _room_removed(self, d):
        """Published to the room when a member leaves: only that member's sockets act on it."""
        if d.only_user == self.user.id:
            await self._unfollow_room(d.room, d.text)

    def follow_rooms(self, room_ids: set[int]) -> None:
        """The user's rooms as PostgreSQL has them (the hub checks after a reconnect): announce
        and follow the rooms added, drop the rooms left, while their events were lost."""
        if self.room_id is not None:
            if self.room_id not in room_ids:
                self._spawn(self.close_with(FORBIDDEN))
            return
        for room_id in room_ids - self.rooms:
            self._spawn(self._follow_room(room_id))
        for room_id in self.rooms - room_ids:
            self._spawn(self._unfollow_room(room_id))

    def follow_new_rooms(self, room_ids: set[int]) -> None:
        """Follow the rooms of `room_ids` this all-rooms socket does not follow yet."""
        if self.room_id is None:
            for room_id in room_ids - self.rooms:
                self._spawn(self._follow_room(room_id))

    async def _follow_room(self, room_id: int, frame_text: str | None = None):
        if self.room_id is not None or room_id in self.rooms:
            return  # a one-room socket stays on its room
        summary, room = await db.call(self._room_to_follow, room_id, frame_text is None)
        if not summary or self.closed or room_id in self.rooms:
            return
        self.rooms.add(room_id)
        await self.send(text_data=frame_text or events.encode(frames.room_added(room)).decode())
        r = summary[0]
        self.hub.join_room(self, room_id, r["last_seq"], r["last_change_seq"])

    def _room_to_follow(self, room_id: int, with_detail: bool):
        summary = queries.rooms_for_socket(self.user.id, room_id)
        return summary, (queries.room_detail(self.user.id, room_id) if summary and with_detail else None)

    async def _unfollow_room(self, room_id: int, frame_text: str | None = None):
        if room_id not in self.rooms:
            return
        if self.room_id is not None:
            return await self.close_with(FORBIDDEN)
        self.rooms.discard(room_id)
        self.hub.leave_room(self, room_id)
        await self.send(text_data=frame_text or events.encode(
            frames.room_removed(room_id=room_id, user_id=self.user.id)).decode())

    # --- helpers ----------------------------------------------------------------------------

    async def send_frame(self, frame: dict):
        socket_outlet = getattr(self, "outlet", None)  # none before the session is open
        if socket_outlet is not None:
            await socket_outlet.send_own(events.encode(frame))
        else:
            await self.send(text_data=events.encode(frame).decode())

    async def send_error(self, message: str, code: str, temp_id: str | None = None, field: str | None = None):
        await self.send_frame(frames.error(message, code, temp_id=temp_id, field=field))


_CLOSE_CODES_COUNTED = {1000, 1001, 1002, 1005, 1006, 1007, 1009, 1011, 1012, 1013, 4001, 4003, 4004, 4008, 4029}


def _close_label(code) -> str:
    """A client may close with any code from 1000 to 4999: count the known ones by code and the
    rest as `other`, so a hostile client cannot mint thousands of series."""
    return str(code) if code in _CLOSE_CODES_COUNTED else "other"


def _log_failure(task: asyncio.Task) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.warning("socket task failed", exc_info=task.exception())

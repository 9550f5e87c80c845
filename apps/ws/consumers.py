"""The chat socket: `/ws/chat/{room_id}/` (one room) and `/ws/chat/` (every room of the user).

Thin by rule: validate a frame, call one chat.actions / chat.queries function, reply. Events
come back from the channel layer as ready-made JSON text (encoded once by the publisher).
"""
import asyncio
import logging
import time

import orjson
from channels.consumer import get_handler_name
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from apps.ws import db, process
from apps.ws.limits import FRAME_COST, TokenBucket
from apps.ws.receipts import ReceiptCoalescer
from chat import actions, events, frames, metrics, queries, tracing
from chat.errors import ChatError, InvalidInput
from chat.text import clean_id, clean_temp_id, refuse_lone_surrogates

log = logging.getLogger(__name__)

NOT_AUTHENTICATED, FORBIDDEN, POLICY = 4001, 4003, 4008
STALE_DROPPABLE_SECONDS = 1.0  # a typing event older than this is backlog: drop it first


def _frame_bytes(raw: str | bytes) -> int:
    """The frame's size in bytes (the limit is on the wire, where Georgian text is 3 bytes a
    character); encoding is needed only when the character count could be over it."""
    if isinstance(raw, bytes):
        return len(raw)
    if len(raw) * 4 <= settings.CHAT_WS_MAX_FRAME_BYTES:
        return len(raw)
    return len(raw.encode("utf-8", "surrogatepass"))


class ChatConsumer(AsyncWebsocketConsumer):
    user = None
    rooms: set[int] = set()
    closed = False

    # --- lifecycle --------------------------------------------------------------------------

    async def __call__(self, scope, receive, send):
        """A channel-layer failure (Redis outage, failover) must not leave the socket silently
        deaf: close it with 1012 so the client reconnects and syncs."""
        try:
            await super().__call__(scope, receive, send)
        except Exception:  # noqa: BLE001
            metrics.CHANNEL_LAYER_ERRORS.labels("receive").inc()
            log.warning("consumer stopped by an error; closing with 1012", exc_info=True)
            try:
                await send({"type": "websocket.close", "code": process.SERVER_RESTART})
            except Exception:  # noqa: BLE001 - the socket may be gone already
                pass
            metrics.WS_CLOSES.labels(str(process.SERVER_RESTART)).inc()
            await self._leave()

    async def dispatch(self, message):
        """Channels closes stale DB connections before every event, on its one shared DB thread;
        our domain calls run on a pool with their own connection care (apps.ws.db), so skip it:
        at fan-out rates that hop per event is the bottleneck."""
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"no handler for message type {message['type']}")
        await handler(message)

    async def connect(self):
        await self.accept()
        self.user = self.scope.get("user")
        self.room_id = self.scope["url_route"]["kwargs"].get("room_id")
        self.bucket = TokenBucket(settings.CHAT_WS_RATE_PER_SECOND, settings.CHAT_WS_RATE_BURST)
        self.receipts = ReceiptCoalescer(settings.CHAT_RECEIPT_COALESCE_SECONDS, self._flush_receipt)
        self.typing_sent: dict[int, float] = {}
        if not self.user or not self.user.is_authenticated or not self.scope.get("auth_via"):
            return await self.close_with(NOT_AUTHENTICATED)
        await process.ensure_running()  # this process is registered alive before sockets count on it
        summary = await db.call(self._open_session)
        if self.room_id is not None and not summary:
            return await self.close_with(FORBIDDEN)
        self.presence_counted = True
        self.rooms = {r["room"] for r in summary}
        try:
            await asyncio.gather(*(self.channel_layer.group_add(g, self.channel_name) for g in self._groups()))
        except Exception:  # noqa: BLE001
            metrics.CHANNEL_LAYER_ERRORS.labels("group_add").inc()
            return await self.close_with(process.SERVER_RESTART)
        self.joined = True
        metrics.WS_CONNECTIONS.inc()
        process.register(self)
        await self.send_frame(frames.connection_established(
            user_id=self.user.id, room_id=self.room_id,
            last_message_id=summary[0]["last_message_id"] if self.room_id is not None else None,
            rooms=[{"room": r["room"], "last_seq": r["last_seq"]} for r in summary]))

    def _open_session(self) -> list[dict]:
        """The socket's rooms, and the socket counted for presence: one trip to the thread pool
        (connects per second are bound by this process's CPU, and each trip costs some)."""
        summary = queries.rooms_for_socket(self.user.id, self.room_id)
        if summary or self.room_id is None:
            actions.socket_opened(self.user, process.PROCESS_ID)
        return summary

    def _groups(self) -> list[str]:
        """Room groups, plus the user's own group on an all-rooms socket (rooms added to the user
        arrive there; a one-room socket learns of its room's removal in the room group)."""
        groups = [events.room_group(r) for r in self.rooms]
        return groups if self.room_id is not None else groups + [events.user_group(self.user.id)]

    async def close_with(self, code: int):
        metrics.WS_CLOSES.labels(str(code)).inc()
        self.closed = True
        await self.close(code=code)

    async def disconnect(self, code):
        if not self.closed:  # closes we started were counted with their code already
            metrics.WS_CLOSES.labels(str(code)).inc()
        await self._leave()

    async def _leave(self):
        if getattr(self, "left", False):
            return
        self.left = True
        if hasattr(self, "receipts"):
            self.receipts.cancel()
        if getattr(self, "joined", False):
            metrics.WS_CONNECTIONS.dec()
            for group in self._groups():
                try:
                    await self.channel_layer.group_discard(group, self.channel_name)
                except Exception:  # noqa: BLE001 - group membership expires by itself
                    metrics.CHANNEL_LAYER_ERRORS.labels("group_discard").inc()
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
        # and into the published event, so the deliveries on every process join this trace.
        with tracing.span("ws message_send", tracing.SERVER, {"chat.user": self.user.id}):
            await self._message_send(frame)

    async def _message_send(self, frame):
        started = time.perf_counter()
        room_id = self.frame_room(frame)
        temp_id = clean_temp_id(frame.get("temp_id"))
        await self.send_frame(frames.message_pending(temp_id))
        try:
            result = await db.call(actions.send_message, self.user, room_id=room_id, content=frame.get("content"),
                                   temp_id=temp_id, message_type=frame.get("message_type", "text"),
                                   origin=self.channel_name)
        except ChatError as exc:
            return await self.send_frame(frames.message_failed(temp_id=temp_id, error=exc.message, code=exc.code))
        except Exception:  # noqa: BLE001
            log.exception("send failed")
            return await self._send_outcome_unknown(room_id, temp_id)
        await self.send_frame(frames.message_confirmed(temp_id, result.message))
        metrics.MESSAGE_SEND_SECONDS.observe(time.perf_counter() - started)

    async def _send_outcome_unknown(self, room_id: int, temp_id: str):
        """The database failed mid-send: whether the commit landed is unknown. Look it up by
        temp_id, so the answer is true either way (exactly-once rests on temp_id)."""
        try:
            stored = await db.call(queries.message_by_temp_id, room_id, self.user.id, temp_id)
        except Exception:  # noqa: BLE001
            stored = None
        if stored is not None:
            return await self.send_frame(frames.message_confirmed(temp_id, stored))
        await self.send_frame(frames.message_failed(
            temp_id=temp_id, error="not stored: the database is unavailable, retry", code="unavailable"))

    async def on_message_edit(self, frame):
        await db.call(actions.edit_message, self.user, message_id=frame.get("message_id"), content=frame.get("content"))

    async def on_message_delete(self, frame):
        await db.call(actions.delete_message, self.user, frame.get("message_id"))

    async def on_reaction(self, frame):
        action = frame.get("action", "add")
        if action not in ("add", "remove"):
            raise InvalidInput("action is 'add' or 'remove'", field="action")
        await db.call(actions.set_reaction, self.user, message_id=frame.get("message_id"), emoji=frame.get("emoji"),
                      present=action == "add")

    async def on_typing(self, frame):
        room_id = self.frame_room(frame)
        is_typing = frame.get("is_typing", True)
        now = time.monotonic()
        if is_typing is True and now - self.typing_sent.get(room_id, 0.0) < 1.0:
            return  # a refresh within a second adds nothing: clients expire after ~6 s
        self.typing_sent[room_id] = now if is_typing is True else 0.0
        await db.call(actions.set_typing, self.user, room_id=room_id, is_typing=is_typing, origin=self.channel_name)

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

    # --- events from the channel layer ------------------------------------------------------

    async def chat_frame(self, event):
        if self.closed or event.get("exclude") == self.channel_name:
            return
        kind = event.get("kind")
        if kind == "room_added":
            return await self._room_added(event)
        if kind == "room_removed":
            return await self._room_removed(event)
        room = event.get("room")
        if room is not None and room not in self.rooms:
            return
        if event.get("droppable") and time.time() - event.get("ts", 0) > STALE_DROPPABLE_SECONDS:
            metrics.WS_FRAMES_DROPPED.labels(kind or "unknown").inc()
            return
        if "trace" in event:
            with tracing.continued_span(event["trace"], "ws deliver", attributes={"chat.frame": kind}):
                await self.send(text_data=event["frame"])
        else:
            await self.send(text_data=event["frame"])
        if kind == "message_new":
            metrics.MESSAGE_FANOUT_SECONDS.observe(max(0.0, time.time() - event.get("ts", time.time())))

    async def _room_added(self, event):
        room_id = event["room"]
        if self.room_id is not None:
            return  # a one-room socket stays on its room
        self.rooms.add(room_id)
        await self.channel_layer.group_add(events.room_group(room_id), self.channel_name)
        await self.send(text_data=event["frame"])

    async def _room_removed(self, event):
        """Sent to the room's group when a member leaves: only that member's sockets act on it."""
        room_id = event.get("room")
        if room_id not in self.rooms or event.get("user_id") != self.user.id:
            return
        if self.room_id is not None:
            return await self.close_with(FORBIDDEN)
        self.rooms.discard(room_id)
        await self.channel_layer.group_discard(events.room_group(room_id), self.channel_name)
        await self.send(text_data=event["frame"])

    # --- helpers ----------------------------------------------------------------------------

    async def send_frame(self, frame: dict):
        await self.send(text_data=events.encode(frame))

    async def send_error(self, message: str, code: str, temp_id: str | None = None, field: str | None = None):
        await self.send_frame(frames.error(message, code, temp_id=temp_id, field=field))

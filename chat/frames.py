"""Every frame the server sends, in one place: a TypedDict per frame type and its builder.

The WebSocket contract is docs/protocol.md; the web app's types are
frontend/src/lib/realtime/protocol.ts, checked against one sample of each frame here by
tests/chat/test_frames.py (which writes frontend/tests/generated/serverFrames.ts). Add a frame
type here and that test asks for a sample of it.
"""
from typing import Literal, NotRequired, TypedDict, get_type_hints

from chat.payloads import MessagePayload, RoomPayload

ResyncReason = Literal["gap", "unavailable", "overflow"]


class RoomCursor(TypedDict):
    room: int
    last_seq: int


class ConnectionEstablished(TypedDict):
    type: Literal["connection_established"]
    user_id: int
    room_id: int | None
    last_message_id: int | None
    rooms: list[RoomCursor]


class MessagePending(TypedDict):
    type: Literal["message_pending"]
    temp_id: str
    status: Literal["sending"]


class MessageConfirmed(TypedDict):
    type: Literal["message_confirmed"]
    temp_id: str
    message: MessagePayload


class MessageFailed(TypedDict):
    type: Literal["message_failed"]
    temp_id: str
    error: str
    code: str


class MessageNew(TypedDict):
    type: Literal["message_new"]
    message: MessagePayload


class MessageUpdated(TypedDict):
    type: Literal["message_updated"]
    message: MessagePayload


class Typing(TypedDict):
    type: Literal["typing"]
    room: int
    user_id: int
    username: str
    is_typing: bool


class UserPresence(TypedDict):
    type: Literal["user_presence"]
    user_id: int
    username: str
    status: Literal["online", "offline"]
    room: int


class Receipt(TypedDict):
    type: Literal["receipt"]
    room: int
    user_id: int
    kind: Literal["delivered", "read"]
    message_id: int
    seq: int


class SyncChanges(TypedDict):
    """What a delta sync answers (chat.queries.changes_since), sent as `sync_response`."""
    room: int
    messages: list[MessagePayload]
    updated: list[MessagePayload]
    has_more: bool
    reset: bool
    last_seq: int


class SyncResponse(SyncChanges):
    type: Literal["sync_response"]


class RoomAdded(TypedDict):
    type: Literal["room_added"]
    room: RoomPayload


class RoomRemoved(TypedDict):
    type: Literal["room_removed"]
    room: int
    user_id: int


class Resync(TypedDict):
    type: Literal["resync"]
    room: int
    reason: ResyncReason


class Error(TypedDict):
    type: Literal["error"]
    message: str
    code: str
    temp_id: NotRequired[str]
    field: NotRequired[str]


class Pong(TypedDict):
    type: Literal["pong"]


FRAMES: tuple[type, ...] = (
    ConnectionEstablished, MessagePending, MessageConfirmed, MessageFailed, MessageNew, MessageUpdated,
    Typing, UserPresence, Receipt, SyncResponse, RoomAdded, RoomRemoved, Resync, Error, Pong,
)
# frame type ("message_new") -> its TypedDict
FRAME_TYPES: dict[str, type] = {get_type_hints(cls)["type"].__args__[0]: cls for cls in FRAMES}


def connection_established(*, user_id: int, room_id: int | None, last_message_id: int | None,
                           rooms: list[RoomCursor]) -> ConnectionEstablished:
    return {"type": "connection_established", "user_id": user_id, "room_id": room_id,
            "last_message_id": last_message_id, "rooms": rooms}


def message_pending(temp_id: str) -> MessagePending:
    return {"type": "message_pending", "temp_id": temp_id, "status": "sending"}


def message_confirmed(temp_id: str, message: MessagePayload) -> MessageConfirmed:
    return {"type": "message_confirmed", "temp_id": temp_id, "message": message}


def message_failed(*, temp_id: str, error: str, code: str) -> MessageFailed:
    return {"type": "message_failed", "temp_id": temp_id, "error": error, "code": code}


def message_new(message: MessagePayload) -> MessageNew:
    return {"type": "message_new", "message": message}


def message_updated(message: MessagePayload) -> MessageUpdated:
    return {"type": "message_updated", "message": message}


def typing(*, room_id: int, user_id: int, username: str, is_typing: bool) -> Typing:
    return {"type": "typing", "room": room_id, "user_id": user_id, "username": username, "is_typing": is_typing}


def user_presence(*, user_id: int, username: str, status: Literal["online", "offline"],
                  room_id: int) -> UserPresence:
    return {"type": "user_presence", "user_id": user_id, "username": username, "status": status, "room": room_id}


def receipt(*, room_id: int, user_id: int, kind: Literal["delivered", "read"], message_id: int,
            seq: int) -> Receipt:
    return {"type": "receipt", "room": room_id, "user_id": user_id, "kind": kind, "message_id": message_id,
            "seq": seq}


def sync_response(changes: SyncChanges) -> SyncResponse:
    return {"type": "sync_response", "room": changes["room"], "messages": changes["messages"],
            "updated": changes["updated"], "has_more": changes["has_more"], "reset": changes["reset"],
            "last_seq": changes["last_seq"]}


def room_added(room: RoomPayload) -> RoomAdded:
    return {"type": "room_added", "room": room}


def room_removed(*, room_id: int, user_id: int) -> RoomRemoved:
    return {"type": "room_removed", "room": room_id, "user_id": user_id}


def resync(room_id: int, reason: ResyncReason) -> Resync:
    """The server could not deliver everything live for the room: the client syncs it at once."""
    return {"type": "resync", "room": room_id, "reason": reason}


def error(message: str, code: str, *, temp_id: str | None = None, field: str | None = None) -> Error:
    frame: Error = {"type": "error", "message": message, "code": code}
    if temp_id is not None:
        frame["temp_id"] = temp_id
    if field is not None:
        frame["field"] = field
    return frame


def pong() -> Pong:
    return {"type": "pong"}

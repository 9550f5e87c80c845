"""The public shapes of a message, a member and a room (docs/api.md), built from plain rows.

Built by hand from `values()` rows instead of serializer objects: a history page of 100 is two
queries and a loop, which is what keeps it inside its 15 ms budget. `message_payload` is the one
builder of a message: history rows and the send path both go through it.
"""
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import TypedDict

from chat.models import Message, Reaction

MESSAGE_FIELDS = (
    "id", "room_id", "seq", "sender_id", "sender__username", "content", "type", "temp_id",
    "created_at", "edited_at", "deleted_at", "version", "change_seq",
)


class UserPayload(TypedDict):
    id: int
    username: str


class ReactionPayload(TypedDict):
    emoji: str
    count: int
    users: list[int]


class MessagePayload(TypedDict):
    id: int
    room: int
    seq: int
    user: UserPayload
    content: str
    type: str
    temp_id: str
    created_at: str
    edited_at: str | None
    deleted: bool
    reactions: list[ReactionPayload]
    version: int
    change_seq: int


class MemberPayload(TypedDict):
    id: int
    username: str
    role: str
    online: bool
    last_delivered_seq: int
    last_read_seq: int


class RoomPayload(TypedDict):
    id: int
    name: str
    kind: str
    members: list[MemberPayload]
    last_message: MessagePayload | None
    last_seq: int
    unread_count: int
    last_read_seq: int
    last_delivered_seq: int
    created_at: str
    muted: bool  # this member muted the room's push notifications


def iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.isoformat().replace("+00:00", "Z")


def user_payload(user_id: int, username: str) -> UserPayload:
    return {"id": user_id, "username": username}


def message_payload(*, message_id: int, room_id: int, seq: int, sender_id: int, sender_name: str, content: str,
                    message_type: str, temp_id: str, created_at: datetime, edited_at: datetime | None = None,
                    deleted_at: datetime | None = None, reactions: list[ReactionPayload] | None = None,
                    version: int = 1, change_seq: int) -> MessagePayload:
    """A message as clients see it; a deleted one keeps its row and seq but shows no content."""
    deleted = deleted_at is not None
    return {
        "id": message_id,
        "room": room_id,
        "seq": seq,
        "user": user_payload(sender_id, sender_name),
        "content": "" if deleted else content,
        "type": message_type,
        "temp_id": temp_id,
        "created_at": iso(created_at),
        "edited_at": iso(edited_at),
        "deleted": deleted,
        "reactions": [] if deleted or reactions is None else reactions,
        "version": version,
        "change_seq": change_seq,
    }


def message_from_row(row: dict, reactions: list[ReactionPayload]) -> MessagePayload:
    return message_payload(
        message_id=row["id"], room_id=row["room_id"], seq=row["seq"], sender_id=row["sender_id"],
        sender_name=row["sender__username"], content=row["content"], message_type=row["type"],
        temp_id=row["temp_id"], created_at=row["created_at"], edited_at=row["edited_at"],
        deleted_at=row["deleted_at"], reactions=reactions, version=row["version"], change_seq=row["change_seq"])


def reactions_by_message(message_ids: Iterable[int]) -> dict[int, list[ReactionPayload]]:
    """One query for the reactions of many messages, grouped as [{emoji, count, users}]."""
    ids = list(message_ids)
    if not ids:
        return {}
    grouped: dict[int, dict[str, list[int]]] = defaultdict(dict)
    rows = (
        Reaction.objects.filter(message_id__in=ids)
        .order_by("message_id", "id")
        .values_list("message_id", "emoji", "user_id")
    )
    for message_id, emoji, user_id in rows:
        grouped[message_id].setdefault(emoji, []).append(user_id)
    return {
        message_id: [{"emoji": e, "count": len(users), "users": users} for e, users in emojis.items()]
        for message_id, emojis in grouped.items()
    }


def messages_from_queryset(queryset) -> list[MessagePayload]:
    """Message payloads for a queryset, in the queryset's order: two queries whatever the size."""
    rows = list(queryset.values(*MESSAGE_FIELDS))
    reactions = reactions_by_message(row["id"] for row in rows)
    return [message_from_row(row, reactions.get(row["id"], [])) for row in rows]


def message_by_id(message_id: int) -> MessagePayload:
    return messages_from_queryset(Message.objects.filter(id=message_id))[0]

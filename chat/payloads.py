"""The public shapes of a message, a member and a room (DESIGN section 4), built from plain rows.

Built by hand from `values()` rows instead of serializer objects: a history page of 100 is two
queries and a loop, which is what keeps it inside its 15 ms budget.
"""
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime

from chat.models import Message, Reaction

MESSAGE_FIELDS = (
    "id", "room_id", "seq", "sender_id", "sender__username", "content", "type", "temp_id",
    "created_at", "edited_at", "deleted_at", "version", "change_seq",
)


def iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.isoformat().replace("+00:00", "Z")


def message_from_row(row: dict, reactions: list[dict]) -> dict:
    deleted = row["deleted_at"] is not None
    return {
        "id": row["id"],
        "room": row["room_id"],
        "seq": row["seq"],
        "user": {"id": row["sender_id"], "username": row["sender__username"]},
        "content": "" if deleted else row["content"],
        "type": row["type"],
        "temp_id": row["temp_id"],
        "created_at": iso(row["created_at"]),
        "edited_at": iso(row["edited_at"]),
        "deleted": deleted,
        "reactions": [] if deleted else reactions,
        "version": row["version"],
        "change_seq": row["change_seq"],
    }


def reactions_by_message(message_ids: Iterable[int]) -> dict[int, list[dict]]:
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


def messages_from_queryset(queryset) -> list[dict]:
    """Message payloads for a queryset, in the queryset's order: two queries whatever the size."""
    rows = list(queryset.values(*MESSAGE_FIELDS))
    reactions = reactions_by_message(row["id"] for row in rows)
    return [message_from_row(row, reactions.get(row["id"], [])) for row in rows]


def message_by_id(message_id: int) -> dict:
    return messages_from_queryset(Message.objects.filter(id=message_id))[0]


def user_payload(user_id: int, username: str) -> dict:
    return {"id": user_id, "username": username}

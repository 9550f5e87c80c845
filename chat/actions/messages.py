"""Messages: send (exactly once per temp_id), edit, delete, reactions."""
import uuid
from dataclasses import dataclass

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from chat import counters, events, frames, notifications, queries, tracing
from chat.errors import Conflict, Forbidden, InvalidInput, NotFound
from chat.models import Message, Reaction
from chat.payloads import MessagePayload, message_by_id, message_payload
from chat.sending import insert_message
from chat.text import clean_content, clean_emoji, clean_id, clean_temp_id


@dataclass(frozen=True)
class SendResult:
    message: MessagePayload
    created: bool


def send_message(sender, *, room_id: int, content: object, temp_id: object = None, message_type: object = "text",
                 origin: str | None = None) -> SendResult:
    """Store a message exactly once per (room, sender, temp_id) and publish `message_new` to
    every other connection (`origin`: the sending socket's channel). A retried temp_id returns
    the original and publishes nothing."""
    text = clean_content(content)
    temp_id = clean_temp_id(temp_id) if temp_id is not None else uuid.uuid4().hex
    if message_type not in (Message.Type.TEXT,):
        raise InvalidInput("message_type must be 'text'", field="message_type")
    with tracing.span("db insert message", tracing.CLIENT, {"chat.room": room_id}):
        row = insert_message(room_id=room_id, sender_id=sender.id, temp_id=temp_id, message_type=message_type,
                             content=text)
    if row is None:
        original = queries.message_by_temp_id(room_id, sender.id, temp_id)
        if original is None:
            raise NotFound("room not found", field="room")
        return SendResult(original, created=False)
    message = message_payload(
        message_id=row.id, room_id=room_id, seq=row.seq, sender_id=sender.id, sender_name=sender.username,
        content=text, message_type=message_type, temp_id=temp_id, created_at=row.created_at,
        change_seq=row.change_seq)
    events.publish(room_id, frames.message_new(message), seq=row.seq, change=row.change_seq, exclude=origin)
    notifications.message_stored(row.id)  # push to offline members, after commit (chat/notifications.py)
    return SendResult(message, created=True)


def _changeable(user, message_id: object) -> Message:
    """A visible, not deleted message (a reaction or the author's edit may change it)."""
    message = queries.visible_message(user.id, clean_id(message_id, "message_id"))
    if message.deleted_at is not None:
        raise Conflict("the message is deleted", field="message_id")
    return message


def _own_message(user, message_id: object) -> Message:
    message = queries.visible_message(user.id, clean_id(message_id, "message_id"))
    if message.sender_id != user.id:
        raise Forbidden("only the author changes a message", field="message_id")
    if message.deleted_at is not None:
        raise Conflict("the message is deleted", field="message_id")
    return message


def _change(message: Message, **fields) -> MessagePayload:
    """Apply a change under the room's next change number and publish the message as it is now."""
    change_seq = counters.next_change_seq(message.room_id)
    Message.objects.filter(id=message.id).update(version=F("version") + 1, change_seq=change_seq, **fields)
    updated = message_by_id(message.id)
    events.publish(message.room_id, frames.message_updated(updated), change=change_seq)
    return updated


def edit_message(user, *, message_id: object, content: object) -> MessagePayload:
    text = clean_content(content)
    with transaction.atomic():
        message = _own_message(user, message_id)
        if message.content == text:
            return message_by_id(message.id)
        return _change(message, content=text, edited_at=timezone.now())


def delete_message(user, message_id: object) -> MessagePayload:
    """Soft delete: the row (and its seq) stays, the content goes."""
    with transaction.atomic():
        message = _own_message(user, message_id)
        deleted = _change(message, content="", deleted_at=timezone.now())  # a deleted message shows no reactions
        Reaction.objects.filter(message_id=message.id).delete()
        return deleted


def set_reaction(user, *, message_id: object, emoji: object, present: bool) -> MessagePayload:
    """Add or remove the user's reaction; idempotent (no change, no event)."""
    emoji = clean_emoji(emoji)
    with transaction.atomic():
        message = _changeable(user, message_id)
        if present:
            _, changed = Reaction.objects.get_or_create(message_id=message.id, user_id=user.id, emoji=emoji)
        else:
            changed = Reaction.objects.filter(message_id=message.id, user_id=user.id, emoji=emoji).delete()[0] > 0
        if not changed:
            return message_by_id(message.id)
        return _change(message)

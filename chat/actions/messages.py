"""Messages: send (exactly once per temp_id), edit, delete, reactions."""
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from chat import async_db, counters, events, frames, notifications, queries, tracing
from chat.errors import Conflict, Forbidden, InvalidInput, NotFound
from chat.models import Message, Reaction
from chat.payloads import MessagePayload, message_by_id, message_payload
from chat.sending import insert_message, insert_message_async
from chat.text import REACTIONS_PER_USER_PER_MESSAGE, clean_content, clean_emoji, clean_id, clean_temp_id


@dataclass(frozen=True)
class SendResult:
    message: MessagePayload
    created: bool


def send_message(sender, *, room_id: int, content: object, temp_id: object = None, message_type: object = "text",
                 origin: str | None = None) -> SendResult:
    """Store a message exactly once per (room, sender, temp_id) and publish `message_new` to
    every other connection (`origin`: the sending socket's channel). A retried temp_id returns
    the original and publishes nothing."""
    draft = _draft(content, temp_id, message_type)
    with tracing.span("db insert message", tracing.CLIENT, {"chat.room": room_id}):
        row = insert_message(room_id=room_id, sender_id=sender.id, **draft)
    if row is None:
        original = queries.message_by_temp_id(room_id, sender.id, draft["temp_id"])
        if original is None:
            raise NotFound("room not found", field="room")
        return SendResult(original, created=False)
    message = _stored(sender, room_id, draft, row)
    events.publish(room_id, frames.message_new(message), seq=row.seq, change=row.change_seq, exclude=origin)
    notifications.message_stored(row.id)  # push to offline members, after commit (chat/notifications.py)
    return SendResult(message, created=True)


async def send_message_async(sender, *, room_id: int, content: object, temp_id: object = None,
                             message_type: object = "text", origin: str | None = None,
                             on_stored: Callable[[MessagePayload], None] | None = None) -> SendResult | None:
    """send_message from an event loop (the ws process), without a trip to a thread: the same
    statement on chat.async_db's pool, committed, then published from the loop. None when it
    stored nothing (a retried temp_id, a room the sender is not in), when the pool could not
    run it, or where PostgreSQL is not the database: the caller then runs send_message with the
    same temp_id, which tells those apart (stored once, the original, or NotFound) exactly as
    for any other send. `on_stored` gets the message once it is committed and before it is
    published (the ws edge answers its sender there, ahead of every other delivery)."""
    if not async_db.available():
        return None
    draft = _draft(content, temp_id, message_type)
    try:
        with tracing.span("db insert message", tracing.CLIENT, {"chat.room": room_id}):
            row = await insert_message_async(room_id=room_id, sender_id=sender.id, **draft)
    except async_db.Unavailable:
        return None
    if row is None:
        return None
    message = _stored(sender, room_id, draft, row)
    if on_stored is not None:  # the sender's answer, before anyone else can see the message
        on_stored(message)
    await events.publish_committed(room_id, frames.message_new(message), seq=row.seq, change=row.change_seq,
                                   exclude=origin)
    notifications.message_committed(row.id)
    return SendResult(message, created=True)


async def prepare_sending() -> None:
    """Open the loop's send pool (its connections come up in the background), so the first sends
    of a ws process do not wait for PostgreSQL backends to start. Nothing where the loop's write
    does not run."""
    if async_db.available():
        await async_db.pool()


def _draft(content: object, temp_id: object, message_type: object) -> dict:
    """A send's checked fields (chat.errors on bad input)."""
    text = clean_content(content)
    temp_id = clean_temp_id(temp_id) if temp_id is not None else uuid.uuid4().hex
    if message_type not in (Message.Type.TEXT,):
        raise InvalidInput("message_type must be 'text'", field="message_type")
    return {"content": text, "temp_id": temp_id, "message_type": message_type}


def _stored(sender, room_id: int, draft: dict, row) -> MessagePayload:
    return message_payload(
        message_id=row.id, room_id=room_id, seq=row.seq, sender_id=sender.id, sender_name=sender.username,
        content=draft["content"], message_type=draft["message_type"], temp_id=draft["temp_id"],
        created_at=row.created_at, change_seq=row.change_seq)


def _changeable(user, message_id: object, room_id: int | None) -> Message:
    """A visible, not deleted message (a reaction or the author's edit may change it); in
    `room_id` when given (a one-room socket changes only its room's messages)."""
    message = queries.visible_message(user.id, clean_id(message_id, "message_id"), room_id=room_id)
    if message.deleted_at is not None:
        raise Conflict("the message is deleted", field="message_id")
    return message


def _own_message(user, message_id: object, room_id: int | None) -> Message:
    message = queries.visible_message(user.id, clean_id(message_id, "message_id"), room_id=room_id)
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


def edit_message(user, *, message_id: object, content: object, room_id: int | None = None) -> MessagePayload:
    text = clean_content(content)
    with transaction.atomic():
        message = _own_message(user, message_id, room_id)
        if message.content == text:
            return message_by_id(message.id)
        return _change(message, content=text, edited_at=timezone.now())


def delete_message(user, message_id: object, *, room_id: int | None = None) -> MessagePayload:
    """Soft delete: the row (and its seq) stays, the content goes."""
    with transaction.atomic():
        message = _own_message(user, message_id, room_id)
        deleted = _change(message, content="", deleted_at=timezone.now())  # a deleted message shows no reactions
        Reaction.objects.filter(message_id=message.id).delete()
        return deleted


def set_reaction(user, *, message_id: object, emoji: object, present: bool,
                 room_id: int | None = None) -> MessagePayload:
    """Add or remove the user's reaction; idempotent (no change, no event). A user puts at
    most REACTIONS_PER_USER_PER_MESSAGE different emoji on one message."""
    emoji = clean_emoji(emoji)
    with transaction.atomic():
        message = _changeable(user, message_id, room_id)
        if present:
            # The message row is locked first, so two concurrent adds cannot both pass the cap.
            Message.objects.select_for_update().filter(id=message.id).values_list("id", flat=True).first()
            _, changed = Reaction.objects.get_or_create(message_id=message.id, user_id=user.id, emoji=emoji)
            if changed and Reaction.objects.filter(message_id=message.id, user_id=user.id).count() \
                    > REACTIONS_PER_USER_PER_MESSAGE:
                raise Conflict(f"at most {REACTIONS_PER_USER_PER_MESSAGE} different reactions per message",
                               field="emoji", code="too_many_reactions")
        else:
            changed = Reaction.objects.filter(message_id=message.id, user_id=user.id, emoji=emoji).delete()[0] > 0
        if not changed:
            return message_by_id(message.id)
        return _change(message)

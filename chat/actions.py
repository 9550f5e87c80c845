"""All writes. Each action is one transaction; its real-time events are published after commit."""
import uuid
from dataclasses import dataclass

from django.contrib.auth import authenticate, get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Value
from django.db.models.functions import Greatest
from django.utils import timezone
from rest_framework.authtoken.models import Token

from chat import events, notifications, presence, queries, tracing
from chat.errors import Conflict, Forbidden, InvalidInput, NotFound
from chat.models import Membership, Message, Reaction, Room
from chat.payloads import iso, message_by_id, user_payload
from chat.sending import insert_message
from chat.text import clean_content, clean_emoji, clean_room_name, clean_temp_id

User = get_user_model()


# --- accounts --------------------------------------------------------------------------------

def register_user(username: object, password: object) -> tuple[object, str]:
    if not isinstance(username, str) or not username.strip():
        raise InvalidInput("username is required", field="username")
    username = username.strip()
    if len(username) > 150 or not all(ch.isalnum() or ch in "@.+-_" for ch in username):
        raise InvalidInput("username: up to 150 letters, digits and @/./+/-/_", field="username")
    if not isinstance(password, str) or not password:
        raise InvalidInput("password is required", field="password")
    try:
        validate_password(password)
    except ValidationError as exc:
        raise InvalidInput(" ".join(exc.messages), field="password") from exc
    try:
        with transaction.atomic():
            user = User.objects.create_user(username=username, password=password)
            token = Token.objects.create(user=user)
    except IntegrityError as exc:
        raise Conflict("that username is taken", field="username") from exc
    return user, token.key


def issue_token(username: object, password: object) -> tuple[object, str]:
    """Log in: the user's token, renewed when it has expired."""
    if not isinstance(username, str) or not username:
        raise InvalidInput("username is required", field="username")
    if not isinstance(password, str) or not password:
        raise InvalidInput("password is required", field="password")
    if "\x00" in username:  # PostgreSQL text cannot hold NUL: no such user
        raise InvalidInput("wrong username or password", field="password", code="bad_credentials")
    user = authenticate(username=username, password=password)
    if user is None:
        raise InvalidInput("wrong username or password", field="password", code="bad_credentials")
    with transaction.atomic():
        token, _ = Token.objects.get_or_create(user=user)
        if queries.user_for_token(token.key) is None:  # expired: a new key
            token.delete()
            token = Token.objects.create(user=user)
    return user, token.key


# --- rooms and members -----------------------------------------------------------------------

def _existing_users(user_ids: list, field: str) -> list[int]:
    from chat.text import clean_id

    ids = sorted({clean_id(uid, field) for uid in user_ids})
    found = set(User.objects.filter(id__in=ids, is_active=True).values_list("id", flat=True))
    missing = [uid for uid in ids if uid not in found]
    if missing:
        raise InvalidInput(f"unknown user ids: {missing}", field=field)
    return ids


def create_room(creator, *, name: object = "", kind: object = "group", members: object = ()) -> tuple[dict, bool]:
    """A new room with the creator as owner; a direct room between two people is reused.
    Returns (room, created)."""
    if kind not in Room.Kind.values:
        raise InvalidInput("kind must be 'direct' or 'group'", field="kind")
    if not isinstance(members, (list, tuple)):
        raise InvalidInput("members must be a list of user ids", field="members")
    if len(members) > 1000:
        raise InvalidInput("at most 1000 members", field="members")
    name = clean_room_name(name)
    member_ids = [uid for uid in _existing_users(list(members), "members") if uid != creator.id]
    if kind == Room.Kind.DIRECT:
        if len(member_ids) != 1:
            raise InvalidInput("a direct room has exactly one other member", field="members")
        existing = _direct_room(creator.id, member_ids[0])
        if existing is not None:
            return queries.room_detail(creator.id, existing), False
    with transaction.atomic():
        room = Room.objects.create(kind=kind, name=name, created_by=creator)
        Membership.objects.create(room=room, user=creator, role=Membership.Role.OWNER)
        Membership.objects.bulk_create([Membership(room=room, user_id=uid) for uid in member_ids])
        # The creator too: their open sockets (the tab that created it over HTTP) must subscribe,
        # or their first message over the socket is refused and they hear nothing in the room.
        _announce_room(room.id, [creator.id, *member_ids])
    return queries.room_detail(creator.id, room.id), True


def _direct_room(user_a: int, user_b: int) -> int | None:
    shared = (
        Membership.objects.filter(user_id=user_a, room__kind=Room.Kind.DIRECT)
        .filter(room__memberships__user_id=user_b)
        .values_list("room_id", flat=True)
    )
    return shared.first()


def _announce_room(room_id: int, user_ids: list[int]) -> None:
    """Tell the new members' open sockets about the room (they subscribe to it on this event)."""
    for uid in user_ids:
        transaction.on_commit(lambda uid=uid: events.publish(
            events.user_group(uid), {"type": "room_added", "room": queries.room_detail(uid, room_id)}))


def add_member(actor, room_id: int, user_id: object) -> dict:
    own = queries.membership(actor.id, room_id)
    if own.room.kind == Room.Kind.DIRECT:
        raise Forbidden("members cannot be added to a direct room", field="user_id")
    [uid] = _existing_users([user_id], "user_id")
    with transaction.atomic():
        _, created = Membership.objects.get_or_create(room_id=room_id, user_id=uid)
        if created:
            _announce_room(room_id, [uid])
    member = next(m for m in queries.room_detail(actor.id, room_id)["members"] if m["id"] == uid)
    return member


def remove_member(actor, room_id: int, user_id: int) -> None:
    own = queries.membership(actor.id, room_id)
    if user_id != actor.id and own.role != Membership.Role.OWNER:
        raise Forbidden("only the room owner removes other members", field="user_id")
    with transaction.atomic():
        deleted, _ = Membership.objects.filter(room_id=room_id, user_id=user_id).delete()
        if deleted:
            # To the room's group: the leaver's sockets are still in it (one-room sockets join no
            # user group), and they act on it; other members' sockets ignore it.
            events.publish(events.room_group(room_id), {"type": "room_removed", "room": room_id,
                                                        "user_id": user_id})


# --- messages --------------------------------------------------------------------------------

@dataclass(frozen=True)
class SendResult:
    message: dict
    created: bool


def send_message(sender, room_id: int, content: object, temp_id: object = None,
                 message_type: object = "text", origin: str | None = None) -> SendResult:
    """Store a message exactly once per (room, sender, temp_id) and publish `message_new` to
    every other connection. A retried temp_id returns the original and publishes nothing."""
    text = clean_content(content)
    temp_id = clean_temp_id(temp_id) if temp_id is not None else uuid.uuid4().hex
    if message_type not in (Message.Type.TEXT,):
        raise InvalidInput("message_type must be 'text'", field="message_type")
    with tracing.span("db insert message", tracing.CLIENT, {"chat.room": room_id}):
        row = insert_message(room_id, sender.id, temp_id, message_type, text)
    if row is None:
        original = queries.message_by_temp_id(room_id, sender.id, temp_id)
        if original is None:
            raise NotFound("room not found", field="room")
        return SendResult(original, created=False)
    message = {
        "id": row.id, "room": room_id, "seq": row.seq, "user": user_payload(sender.id, sender.username),
        "content": text, "type": message_type, "temp_id": temp_id, "created_at": iso(row.created_at),
        "edited_at": None, "deleted": False, "reactions": [], "version": 1, "change_seq": row.change_seq,
    }
    events.publish(events.room_group(room_id), {"type": "message_new", "message": message}, exclude=origin)
    notifications.message_stored(row.id)  # push to offline members, after commit (chat/notifications.py)
    return SendResult(message, created=True)


def _own_message(user, message_id: object) -> Message:
    from chat.text import clean_id

    message_id = clean_id(message_id, "message_id")
    message = Message.objects.filter(id=message_id, room__memberships__user_id=user.id).first()
    if message is None:
        raise NotFound("message not found", field="message_id")
    if message.sender_id != user.id:
        raise Forbidden("only the author changes a message", field="message_id")
    if message.deleted_at is not None:
        raise Conflict("the message is deleted", field="message_id")
    return message


def _next_change_seq(room_id: int) -> int:
    """Take the room's next change number; the row lock orders a room's changes like its commits."""
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE chat_room SET last_change_seq = last_change_seq + 1 WHERE id = %s RETURNING last_change_seq",
            [room_id])
        return cursor.fetchone()[0]


def _publish_update(message_id: int) -> dict:
    message = message_by_id(message_id)
    events.publish(events.room_group(message["room"]), {"type": "message_updated", "message": message})
    return message


def edit_message(user, message_id: object, content: object) -> dict:
    text = clean_content(content)
    with transaction.atomic():
        message = _own_message(user, message_id)
        if message.content == text:
            return message_by_id(message.id)
        change_seq = _next_change_seq(message.room_id)
        Message.objects.filter(id=message.id).update(
            content=text, edited_at=timezone.now(), version=F("version") + 1, change_seq=change_seq)
        return _publish_update(message.id)


def delete_message(user, message_id: object) -> dict:
    """Soft delete: the row (and its seq) stays, the content goes."""
    with transaction.atomic():
        message = _own_message(user, message_id)
        change_seq = _next_change_seq(message.room_id)
        Message.objects.filter(id=message.id).update(
            content="", deleted_at=timezone.now(), version=F("version") + 1, change_seq=change_seq)
        Reaction.objects.filter(message_id=message.id).delete()
        return _publish_update(message.id)


def set_reaction(user, message_id: object, emoji: object, present: bool) -> dict:
    """Add or remove the user's reaction; idempotent (no change, no event)."""
    from chat.text import clean_id

    emoji = clean_emoji(emoji)
    message_id = clean_id(message_id, "message_id")
    with transaction.atomic():
        message = Message.objects.filter(id=message_id, room__memberships__user_id=user.id).first()
        if message is None:
            raise NotFound("message not found", field="message_id")
        if message.deleted_at is not None:
            raise Conflict("the message is deleted", field="message_id")
        if present:
            _, changed = Reaction.objects.get_or_create(message_id=message_id, user_id=user.id, emoji=emoji)
        else:
            changed = Reaction.objects.filter(message_id=message_id, user_id=user.id, emoji=emoji).delete()[0] > 0
        if not changed:
            return message_by_id(message_id)
        change_seq = _next_change_seq(message.room_id)
        Message.objects.filter(id=message_id).update(version=F("version") + 1, change_seq=change_seq)
        return _publish_update(message_id)


# --- receipts --------------------------------------------------------------------------------

def _receipt_seq(room_id: int, message_id: object) -> tuple[int, int]:
    from chat.text import clean_id

    message_id = clean_id(message_id, "message_id")
    seq = Message.objects.filter(room_id=room_id, id=message_id).values_list("seq", flat=True).first()
    if seq is None:
        raise NotFound("message not found in this room", field="message_id")
    return message_id, seq


def mark_delivered(user, room_id: int, message_id: object) -> dict | None:
    """Move the delivered watermark forward (never back); the receipt, or None if it did not move."""
    queries.membership(user.id, room_id)
    message_id, seq = _receipt_seq(room_id, message_id)
    moved = Membership.objects.filter(room_id=room_id, user_id=user.id, last_delivered_seq__lt=seq).update(
        last_delivered_seq=seq)
    return _publish_receipt(user, room_id, "delivered", message_id, seq) if moved else None


def mark_read(user, room_id: int, message_id: object) -> dict | None:
    """Move the read watermark forward (read implies delivered)."""
    queries.membership(user.id, room_id)
    message_id, seq = _receipt_seq(room_id, message_id)
    moved = Membership.objects.filter(room_id=room_id, user_id=user.id, last_read_seq__lt=seq).update(
        last_read_seq=seq, last_delivered_seq=Greatest(F("last_delivered_seq"), Value(seq)))
    return _publish_receipt(user, room_id, "read", message_id, seq) if moved else None


def _publish_receipt(user, room_id: int, kind: str, message_id: int, seq: int) -> dict:
    receipt = {"type": "receipt", "room": room_id, "user_id": user.id, "kind": kind,
               "message_id": message_id, "seq": seq}
    events.publish(events.room_group(room_id), receipt)
    return receipt


# --- typing and presence (ephemeral: nothing is stored in PostgreSQL) ------------------------

def set_typing(user, room_id: int, is_typing: object, origin: str | None = None) -> None:
    if not isinstance(is_typing, bool):
        raise InvalidInput("is_typing must be true or false", field="is_typing")
    frame = {"type": "typing", "room": room_id, "user_id": user.id, "username": user.username,
             "is_typing": is_typing}
    events.publish(events.room_group(room_id), frame, exclude=origin, droppable=True)


def _publish_presence(user_id: int, username: str, status: str) -> None:
    frame = {"type": "user_presence", "user_id": user_id, "username": username, "status": status}
    events.publish_to_rooms(queries.room_ids_of_user(user_id), frame)


def socket_opened(user, process_id: str) -> None:
    if presence.store().connect(user.id, process_id):
        _publish_presence(user.id, user.username, "online")


def socket_closed(user, process_id: str) -> None:
    if presence.store().disconnect(user.id, process_id):
        _publish_presence(user.id, user.username, "offline")


def presence_heartbeat(process_id: str) -> None:
    """Keep this process's sockets counted, and report the users of dead processes offline."""
    store = presence.store()
    store.heartbeat(process_id)
    for user_id in store.reap_dead_processes():
        username = User.objects.filter(id=user_id).values_list("username", flat=True).first()
        if username is not None:
            _publish_presence(user_id, username, "offline")


def process_stopping(process_id: str) -> None:
    presence.store().forget_process(process_id)


# --- bulk import (demo data, benchmarks, migrations from another system) ---------------------

def import_messages(room_id: int, rows: list[tuple[int, str]], *, batch_size: int = 5000) -> int:
    """Append (sender_id, content) rows to a room in one transaction, numbering them from the
    room's next seq exactly like live sends. No events: nobody is watching an import."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE chat_room SET last_seq = last_seq + %s, last_change_seq = last_change_seq + %s "
                "WHERE id = %s RETURNING last_seq, last_change_seq", [len(rows), len(rows), room_id])
            last_seq, last_change = cursor.fetchone()
        first_seq, first_change = last_seq - len(rows) + 1, last_change - len(rows) + 1
        now = timezone.now()
        step = timezone.timedelta(seconds=30)
        messages = [
            Message(room_id=room_id, sender_id=sender_id, seq=first_seq + i, temp_id=f"import-{first_seq + i}",
                    content=clean_content(content), created_at=now - step * (len(rows) - i),
                    created_change_seq=first_change + i, change_seq=first_change + i)
            for i, (sender_id, content) in enumerate(rows)
        ]
        Message.objects.bulk_create(messages, batch_size=batch_size)
    return len(messages)

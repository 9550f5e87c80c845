"""All reads. Each function answers one question of an edge, in a constant number of queries."""
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Q

from chat import presence
from chat.errors import InvalidInput, NotFound
from chat.frames import SyncChanges
from chat.models import Membership, Message, Room, RoomMute
from chat.payloads import MessagePayload, RoomPayload, iso, message_by_id, messages_from_queryset
from chat.text import clean_id, clean_seq

User = get_user_model()


# --- membership ------------------------------------------------------------------------------

def membership(user_id: int, room_id: int) -> Membership:
    """The user's membership of the room; NotFound for non-members and missing rooms alike."""
    found = Membership.objects.filter(user_id=user_id, room_id=room_id).first()
    if found is None:
        raise NotFound("room not found", field="room")
    return found


def room_ids_of_user(user_id: int) -> list[int]:
    return list(Membership.objects.filter(user_id=user_id).values_list("room_id", flat=True))


def room_ids_of_users(user_ids) -> dict[int, set[int]]:
    """The rooms of many users in one query (a ws process checking its sockets' rooms)."""
    rooms: dict[int, set[int]] = {uid: set() for uid in user_ids}
    for user_id, room_id in Membership.objects.filter(user_id__in=list(rooms)).values_list("user_id", "room_id"):
        rooms[user_id].add(room_id)
    return rooms


# Raw SQL: run on every WebSocket connect, where building the ORM subquery cost more than the query.
_ROOMS_FOR_SOCKET = (
    "SELECT m.room_id, r.last_seq, r.last_change_seq FROM chat_membership m JOIN chat_room r ON r.id = m.room_id "
    "WHERE m.user_id = %s")
_ROOM_FOR_SOCKET = (
    "SELECT m.room_id, r.last_seq, r.last_change_seq, "
    "(SELECT id FROM chat_message WHERE room_id = r.id AND seq = r.last_seq) "
    "FROM chat_membership m JOIN chat_room r ON r.id = m.room_id WHERE m.user_id = %s AND m.room_id = %s")


def rooms_for_socket(user_id: int, room_id: int | None = None) -> list[dict]:
    """What a new socket needs, in one query: [{room, last_seq, last_change_seq}] of the user's
    rooms (or of the one room, with the id of its newest message). Empty when the user is not a
    member of `room_id`. `last_change_seq` is where the socket's live feed of the room starts."""
    with connection.cursor() as cursor:
        if room_id is None:
            cursor.execute(_ROOMS_FOR_SOCKET, [user_id])
            return [{"room": r, "last_seq": s, "last_change_seq": c} for r, s, c in cursor.fetchall()]
        cursor.execute(_ROOM_FOR_SOCKET, [user_id, room_id])
        return [{"room": r, "last_seq": s, "last_change_seq": c, "last_message_id": m}
                for r, s, c, m in cursor.fetchall()]


# --- users ---------------------------------------------------------------------------------

def search_users(query: str, limit: int = 20) -> list[dict]:
    users = User.objects.filter(is_active=True)
    query = query.replace("\x00", "")  # PostgreSQL text cannot hold NUL
    if query:
        users = users.filter(username__icontains=query)
    return [{"id": pk, "username": name} for pk, name in users.order_by("username").values_list("id", "username")[:limit]]


# --- history pages ---------------------------------------------------------------------------

def _seq_of(room_id: int, message_id: int, field: str) -> int:
    seq = Message.objects.filter(room_id=room_id, id=message_id).values_list("seq", flat=True).first()
    if seq is None:
        raise InvalidInput(f"{field} is not a message of this room", field=field)
    return seq


def _page(room_id: int, *, seq_lt=None, seq_gt=None, newest_first: bool, limit: int) -> tuple[list[dict], bool]:
    """Up to `limit` messages next to a seq, and whether more lie beyond them."""
    queryset = Message.objects.filter(room_id=room_id)
    if seq_lt is not None:
        queryset = queryset.filter(seq__lt=seq_lt)
    if seq_gt is not None:
        queryset = queryset.filter(seq__gt=seq_gt)
    queryset = queryset.order_by("-seq" if newest_first else "seq").select_related("sender")[: limit + 1]
    messages = messages_from_queryset(queryset)
    has_more = len(messages) > limit
    messages = messages[:limit]
    if newest_first:
        messages.reverse()
    return messages, has_more


def history_page(user_id: int, room_id: int, *, limit: int, before=None, after=None, around=None) -> dict:
    """A page of history, always chronological (docs/api.md)."""
    membership(user_id, room_id)
    if before is not None:
        messages, has_more = _page(room_id, seq_lt=_seq_of(room_id, before, "before"), newest_first=True, limit=limit)
        return {"messages": messages, "has_more": has_more, "cursor": messages[0]["id"] if messages else None}
    if after is not None:
        messages, has_more = _page(room_id, seq_gt=_seq_of(room_id, after, "after"), newest_first=False, limit=limit)
        return {"messages": messages, "has_more": has_more, "cursor": messages[-1]["id"] if messages else None}
    if around is not None:
        return _around_page(room_id, around, limit)
    messages, has_more = _page(room_id, newest_first=True, limit=limit)
    return {"messages": messages, "has_more": has_more, "cursor": messages[0]["id"] if messages else None}


def _around_page(room_id: int, around: int, limit: int) -> dict:
    seq = _seq_of(room_id, around, "around")
    older_count = (limit - 1) // 2
    older, has_more_before = _page(room_id, seq_lt=seq, newest_first=True, limit=older_count)
    newer, has_more_after = _page(room_id, seq_gt=seq - 1, newest_first=False, limit=limit - len(older))
    messages = older + newer
    return {
        "messages": messages,
        "has_more": has_more_before or has_more_after,
        "has_more_before": has_more_before,
        "has_more_after": has_more_after,
        "cursor": messages[0]["id"] if messages else None,
    }


def visible_message(user_id: int, message_id: int, *, room_id: int | None = None) -> Message:
    """The message, if it is in a room the user is a member of (and in `room_id`, when given);
    NotFound otherwise: a non-member cannot tell a message exists."""
    found = Message.objects.filter(id=message_id, room__memberships__user_id=user_id)
    if room_id is not None:
        found = found.filter(room_id=room_id)
    message = found.first()
    if message is None:
        raise NotFound("message not found" if room_id is None else "message not found in this room",
                       field="message_id")
    return message


def message_by_temp_id(room_id: int, sender_id: int, temp_id: str) -> MessagePayload | None:
    """The message a sender stored under a temp_id (a retried or unknown-outcome send)."""
    found = (Message.objects.filter(room_id=room_id, sender_id=sender_id, temp_id=temp_id)
             .values_list("id", flat=True).first())
    return None if found is None else message_by_id(found)


# --- delta sync ------------------------------------------------------------------------------

def last_seq_for_message(room_id: int, message_id: int) -> int:
    return _seq_of(room_id, message_id, "last_message_id")


def changes_since_cursor(user_id: int, room_id: int, *, last_seq: object = None, last_message_id: object = None,
                         since_change_seq: object = None) -> SyncChanges:
    """A sync_request's answer from its raw cursor: `last_seq`, or else `last_message_id` (or from
    the start), and optionally `since_change_seq`; InvalidInput names a bad one."""
    if last_seq is not None:
        seq = clean_seq(last_seq, "last_seq")
    elif last_message_id is not None:
        seq = last_seq_for_message(room_id, clean_id(last_message_id, "last_message_id"))
    else:
        seq = 0
    since = None if since_change_seq is None else clean_seq(since_change_seq, "since_change_seq")
    return changes_since(user_id, room_id, last_seq=seq, since_change_seq=since)


def changes_since(user_id: int, room_id: int, *, last_seq: int, since_change_seq: int | None = None,
                  page_size: int | None = None, reset_after: int | None = None) -> SyncChanges:
    """Every message after `last_seq` (paged) and every change to older ones since the client's
    view (`since_change_seq`, or else since the client's last message was created)."""
    membership(user_id, room_id)
    page_size = page_size or settings.CHAT_SYNC_PAGE_SIZE
    reset_after = settings.CHAT_SYNC_RESET_AFTER if reset_after is None else reset_after
    room_last_seq = Room.objects.filter(id=room_id).values_list("last_seq", flat=True).get()
    last_seq = max(0, min(last_seq, room_last_seq))
    if room_last_seq - last_seq > reset_after:
        return {"room": room_id, "messages": [], "updated": [], "has_more": False, "reset": True,
                "last_seq": room_last_seq}
    messages, has_more = _page(room_id, seq_gt=last_seq, newest_first=False, limit=page_size)
    if since_change_seq is None:
        since_change_seq = (
            Message.objects.filter(room_id=room_id, seq=last_seq).values_list("created_change_seq", flat=True).first()
            or 0
        )
    updated = messages_from_queryset(
        Message.objects.filter(room_id=room_id, seq__lte=last_seq, change_seq__gt=since_change_seq)
        .order_by("change_seq")
        .select_related("sender")[:page_size]
    )
    return {"room": room_id, "messages": messages, "updated": updated, "has_more": has_more,
            "reset": False, "last_seq": room_last_seq}


# --- fan-out repair (a ws process catching up on room changes it missed live) -----------------

def room_positions(room_ids) -> dict[int, int]:
    """The newest change number of each room."""
    return dict(Room.objects.filter(id__in=list(room_ids)).values_list("id", "last_change_seq"))


def room_changes_after(room_id: int, change: int, *, upto: int | None = None, limit: int) -> dict | None:
    """Every change to a room after change number `change` (up to `upto`, when the caller holds
    the publications from there on), as the messages' current state: `new` (created in that
    window, in seq order), `updated` (older messages changed in it), and `position`, the change
    number up to which everything is reflected. None when more than `limit` messages changed:
    too far behind to repair message by message."""
    window = Q(change_seq__gt=change) if upto is None else (
        Q(created_change_seq__gt=change, created_change_seq__lte=upto) | Q(change_seq__gt=change, change_seq__lte=upto))
    rows = list(Message.objects.filter(window, room_id=room_id).order_by("seq")
                .values_list("id", "created_change_seq", "change_seq")[: limit + 1])
    if len(rows) > limit:
        return None
    # Every change k in the window left its message with change_seq >= k, so the messages found
    # reflect the window whole (a message changed again later arrives with that later change).
    position = upto if upto is not None else max((c for _, _, c in rows), default=change)
    created_in_window = {mid for mid, created, _ in rows if created > change}
    messages = messages_from_queryset(
        Message.objects.filter(id__in=[mid for mid, _, _ in rows]).order_by("seq").select_related("sender"))
    return {"new": [m for m in messages if m["id"] in created_in_window],
            "updated": [m for m in messages if m["id"] not in created_in_window],
            "position": max(position, change)}


# --- rooms -----------------------------------------------------------------------------------

def _members_by_room(room_ids: list[int]) -> dict[int, list[dict]]:
    rows = list(
        Membership.objects.filter(room_id__in=room_ids)
        .order_by("room_id", "joined_at", "id")
        .values_list("room_id", "user_id", "user__username", "role", "last_delivered_seq", "last_read_seq")
    )
    online = presence.online_user_ids({row[1] for row in rows})
    members: dict[int, list[dict]] = {room_id: [] for room_id in room_ids}
    for room_id, uid, username, role, delivered, read in rows:
        members[room_id].append({"id": uid, "username": username, "role": role, "online": uid in online,
                                 "last_delivered_seq": delivered, "last_read_seq": read})
    return members


def _last_messages(rooms: list[tuple[int, int]]) -> dict[int, MessagePayload]:
    wanted = Q(pk__in=[])
    for room_id, last_seq in rooms:
        if last_seq:
            wanted |= Q(room_id=room_id, seq=last_seq)
    return {m["room"]: m for m in messages_from_queryset(Message.objects.filter(wanted).select_related("sender"))}


def rooms_of_user(user_id: int, room_id: int | None = None) -> list[RoomPayload]:
    """The user's rooms, newest activity first, with members, last message and unread count."""
    own = Membership.objects.filter(user_id=user_id).select_related("room")
    if room_id is not None:
        own = own.filter(room_id=room_id)
    own = list(own)
    room_ids = [m.room_id for m in own]
    members = _members_by_room(room_ids)
    last_messages = _last_messages([(m.room_id, m.room.last_seq) for m in own])
    muted = set(RoomMute.objects.filter(user_id=user_id, room_id__in=room_ids).values_list("room_id", flat=True))
    rooms = [_room_payload(m, members[m.room_id], last_messages.get(m.room_id), m.room_id in muted) for m in own]
    rooms.sort(key=lambda r: (r["last_message"] or {}).get("created_at") or r["created_at"], reverse=True)
    return rooms


def room_detail(user_id: int, room_id: int) -> RoomPayload:
    rooms = rooms_of_user(user_id, room_id=room_id)
    if not rooms:
        raise NotFound("room not found", field="room")
    return rooms[0]


def _room_payload(own: Membership, members: list[dict], last_message: MessagePayload | None,
                  muted: bool) -> RoomPayload:
    room = own.room
    return {
        "id": room.id,
        "name": room.name,
        "kind": room.kind,
        "members": members,
        "last_message": last_message,
        "last_seq": room.last_seq,
        "unread_count": max(0, room.last_seq - own.last_read_seq),
        "last_read_seq": own.last_read_seq,
        "last_delivered_seq": own.last_delivered_seq,
        "created_at": iso(room.created_at),
        "muted": muted,
    }

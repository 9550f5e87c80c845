"""Rooms and their members: creating a room, adding and removing members, announcing it."""
from django.contrib.auth import get_user_model
from django.db import transaction

from chat import events, frames, queries
from chat.errors import Forbidden, InvalidInput
from chat.models import Membership, Room
from chat.text import clean_id, clean_room_name

User = get_user_model()


def _existing_users(user_ids: list, field: str) -> list[int]:
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
    """Tell the new members' open sockets about the room (they subscribe to it on this event).
    The room is read after commit, as each member sees it."""
    for uid in user_ids:
        transaction.on_commit(lambda uid=uid: events.publish_to_user(
            uid, frames.room_added(queries.room_detail(uid, room_id)), room_id=room_id))


def add_member(actor, *, room_id: int, user_id: object) -> dict:
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


def remove_member(actor, *, room_id: int, user_id: int) -> None:
    own = queries.membership(actor.id, room_id)
    if user_id != actor.id and own.role != Membership.Role.OWNER:
        raise Forbidden("only the room owner removes other members", field="user_id")
    with transaction.atomic():
        deleted, _ = Membership.objects.filter(room_id=room_id, user_id=user_id).delete()
        if deleted:
            # To the room's group: the leaver's sockets are still in it (one-room sockets join no
            # user group), and they act on it; other members' sockets ignore it.
            events.publish(room_id, frames.room_removed(room_id=room_id, user_id=user_id), user_id=user_id)

"""Typing and presence: ephemeral, nothing is stored in PostgreSQL (presence counts live in Redis,
chat/presence.py)."""
from django.contrib.auth import get_user_model

from chat import events, frames, presence, queries
from chat.errors import InvalidInput

User = get_user_model()


def set_typing(user, *, room_id: int, is_typing: object, origin: str | None = None) -> None:
    if not isinstance(is_typing, bool):
        raise InvalidInput("is_typing must be true or false", field="is_typing")
    frame = frames.typing(room_id=room_id, user_id=user.id, username=user.username, is_typing=is_typing)
    events.publish(room_id, frame, exclude=origin, droppable=True)


def _publish_presence(user_id: int, username: str, status: str) -> None:
    """To each room of the user: clients see who is online in the rooms they share."""
    for room_id in queries.room_ids_of_user(user_id):
        events.publish(room_id, frames.user_presence(user_id=user_id, username=username, status=status,
                                                     room_id=room_id), droppable=True)


def socket_opened(user, process_id: str, *, cap: int = 0) -> None:
    """Count the socket; presence.TooManySockets when the user has `cap` open already."""
    if presence.store().connect(user.id, process_id, cap):
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

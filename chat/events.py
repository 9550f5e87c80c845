"""Real-time events: what the domain publishes, once per event, after commit.

A frame is encoded to JSON once, here; every ws process writes those same bytes to each of
its sockets in the room (chat/broadcast.py has the wire format, apps/ws/hub.py the local
fan-out). Delivery over Redis is best effort, but a ws process notices a missed room change by
its `change` number and reads it back from PostgreSQL, so a failed publish is counted, not raised.
"""
import time

import orjson
from django.db import transaction

from chat import broadcast, tracing


def encode(frame: dict) -> bytes:
    """JSON for a frame: UTF-8 as is, never \\u escapes."""
    return orjson.dumps(frame)


def _header(kind: str, **fields) -> dict:
    return {"kind": kind, **{k: v for k, v in fields.items() if v is not None and v is not False}}


def _publish_on_commit(publication: broadcast.Publication) -> None:
    def send():
        publication.header["ts"] = time.time()  # commit time: the start of chat_message_fanout_seconds
        with tracing.span("fanout publish", tracing.PRODUCER, {"chat.frame": publication.header["kind"]}):
            carrier = tracing.context_carrier()
            if carrier:  # only while tracing: every ws process continues the trace from here
                publication.header["trace"] = carrier
            broadcast.publish(publication)

    transaction.on_commit(send)


def publish_to_room(room_id: int, frame: dict, *, seq: int | None = None, change: int | None = None,
                    exclude: str | None = None, droppable: bool = False, only_user: int | None = None) -> None:
    """A frame for every socket in a room (but `exclude`), once the transaction commits.
    `change` is the room change number PostgreSQL recorded for it (message_new, message_updated):
    ws processes use it to notice and repair what they missed. `only_user`: a frame only that
    user's sockets act on (room_removed: the leaver's sockets are in the room's feed)."""
    header = _header(frame["type"], room=room_id, seq=seq, change=change, exclude=exclude, droppable=droppable,
                     only_user=only_user)
    _publish_on_commit(broadcast.Publication(broadcast.room_channel(room_id), header, encode(frame)))


def publish_to_user(user_id: int, frame: dict, *, room: int | None = None) -> None:
    """A frame for every all-rooms socket of one user (room_added)."""
    header = _header(frame["type"], user=user_id, room=room)
    _publish_on_commit(broadcast.Publication(broadcast.user_channel(user_id), header, encode(frame)))


def publish_to_rooms(room_ids, frame: dict, *, droppable: bool = False) -> None:
    for room_id in room_ids:
        publish_to_room(room_id, {**frame, "room": room_id}, droppable=droppable)

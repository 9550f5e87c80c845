"""Real-time events: group names, encoding, and publishing after commit.

Frames are built by chat.frames; this module only routes them. A frame is encoded to JSON once,
by the publisher; every socket of the group sends that same text. Delivery over the channel
layer is best effort: PostgreSQL is the truth and clients recover anything missed by seq gaps +
sync_request, so a failed publish is counted, not raised.
"""
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import orjson
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from chat import metrics, tracing

log = logging.getLogger(__name__)

EVENT_TYPE = "chat.frame"  # the consumer method `chat_frame` handles it


def room_group(room_id: int) -> str:
    return f"room.{room_id}"


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


def encode(frame: dict) -> str:
    """JSON text for a frame: UTF-8 as is, never \\u escapes."""
    return orjson.dumps(frame).decode()


def frame_event(frame: dict, *, room_id: int | None, user_id: int | None = None, exclude: str | None = None,
                droppable: bool = False) -> dict:
    """The channel-layer event around a frame: the encoded text plus what receivers route on
    (`room`: the room the frame is about; `user_id`: the user it is about, where they act on it)."""
    return {
        "type": EVENT_TYPE,
        "frame": encode(frame),
        "kind": frame["type"],
        "room": room_id,
        "user_id": user_id,
        "exclude": exclude,
        "droppable": droppable,
        "ts": time.time(),
    }


# --- what was published, for tests that check every frame --------------------------------------

@dataclass(frozen=True)
class Published:
    group: str
    frame: dict  # decoded from the text that went to the channel layer
    event: dict


_recorders: list[list[Published]] = []
_recorders_lock = threading.Lock()


@contextmanager
def capture() -> Iterator[list[Published]]:
    """Record every event published (after its commit) while the block runs, from any thread.
    Delivery is unchanged: this records the domain's real output (tests/chat/test_frames.py)."""
    published: list[Published] = []
    with _recorders_lock:
        _recorders.append(published)
    try:
        yield published
    finally:
        with _recorders_lock:
            _recorders.remove(published)


def _record(group: str, event: dict) -> None:
    with _recorders_lock:
        for published in _recorders:
            published.append(Published(group, orjson.loads(event["frame"]), dict(event)))


# --- publishing ------------------------------------------------------------------------------

def _group_send(group: str, event: dict) -> None:
    if _recorders:
        _record(group, event)
    layer = get_channel_layer()
    if layer is None:
        return
    event["ts"] = time.time()  # commit time: the start of chat_message_fanout_seconds
    try:
        with tracing.span("channel_layer group_send", tracing.PRODUCER,
                          {"chat.group": group, "chat.frame": event["kind"]}):
            carrier = tracing.context_carrier()
            if carrier:  # only while tracing: receivers continue the trace in their own process
                event["trace"] = carrier
            async_to_sync(layer.group_send)(group, event)
    except Exception:  # noqa: BLE001 - best effort by design; clients sync what they miss
        metrics.CHANNEL_LAYER_ERRORS.labels("group_send").inc()
        log.warning("group_send to %s failed", group, exc_info=True)


def publish(room_id: int, frame: dict, *, user_id: int | None = None, exclude: str | None = None,
            droppable: bool = False) -> None:
    """Send a frame to a room's sockets once the current transaction commits (at once in
    autocommit). `exclude`: the channel that must not get it (the sending socket)."""
    event = frame_event(frame, room_id=room_id, user_id=user_id, exclude=exclude, droppable=droppable)
    transaction.on_commit(lambda: _group_send(room_group(room_id), event))


def publish_to_user(user_id: int, frame: dict, *, room_id: int) -> None:
    """Send a frame about a room to one user's all-rooms sockets (room_added: they are not in the
    room's group yet), once the current transaction commits."""
    event = frame_event(frame, room_id=room_id, user_id=user_id)
    transaction.on_commit(lambda: _group_send(user_group(user_id), event))

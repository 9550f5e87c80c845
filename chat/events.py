"""Real-time events: group names, frame shapes, and publishing after commit.

A frame is encoded to JSON once, by the publisher; every socket of the group sends that same
text. Delivery over the channel layer is best effort: PostgreSQL is the truth and clients
recover anything missed by seq gaps + sync_request, so a failed publish is counted, not raised.
"""
import logging
import time

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


def frame_event(frame: dict, *, exclude: str | None = None, droppable: bool = False) -> dict:
    return {
        "type": EVENT_TYPE,
        "frame": encode(frame),
        "kind": frame["type"],
        "room": frame.get("room") or (frame.get("message") or {}).get("room"),
        "user_id": frame.get("user_id"),
        "exclude": exclude,
        "droppable": droppable,
        "ts": time.time(),
    }


def _group_send(group: str, event: dict) -> None:
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


def publish(group: str, frame: dict, *, exclude: str | None = None, droppable: bool = False) -> None:
    """Send a frame to a group once the current transaction commits (at once in autocommit)."""
    event = frame_event(frame, exclude=exclude, droppable=droppable)
    transaction.on_commit(lambda: _group_send(group, event))


def publish_to_rooms(room_ids, frame: dict, *, droppable: bool = False) -> None:
    for room_id in room_ids:
        publish(room_group(room_id), {**frame, "room": room_id}, droppable=droppable)

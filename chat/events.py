"""Real-time events: what the domain publishes, once per event, after commit.

Frames are built by chat.frames; this module routes them. A frame is encoded to JSON once, here;
every ws process writes those same bytes to each of its sockets in the room (chat/broadcast.py
has the wire format, apps/ws/hub.py the local fan-out). Delivery over Redis is best effort, but a
ws process notices a missed room change by its `change` number and reads it back from
PostgreSQL, so a failed publish is counted and retried, never raised.
"""
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import orjson
from django.db import transaction

from chat import broadcast, tracing

room_group = broadcast.room_channel
user_group = broadcast.user_channel


def encode(frame: dict) -> bytes:
    """JSON for a frame: UTF-8 as is, never \\u escapes."""
    return orjson.dumps(frame)


# --- what was published, for tests that check every frame --------------------------------------

@dataclass(frozen=True)
class Published:
    group: str  # the channel it went to
    frame: dict  # decoded from the bytes that were published
    event: dict  # the publication's header, with its `frame` bytes


_recorders: list[list[Published]] = []
_recorders_lock = threading.Lock()


@contextmanager
def capture() -> Iterator[list[Published]]:
    """Record every publication (after its commit) while the block runs, from any thread.
    Delivery is unchanged: this records the domain's real output (tests/chat/test_frames.py)."""
    published: list[Published] = []
    with _recorders_lock:
        _recorders.append(published)
    try:
        yield published
    finally:
        with _recorders_lock:
            _recorders.remove(published)


def _record(publication: broadcast.Publication) -> None:
    event = {**publication.header, "frame": publication.frame}
    with _recorders_lock:
        for published in _recorders:
            published.append(Published(publication.channel, orjson.loads(publication.frame), event))


# --- publishing ------------------------------------------------------------------------------

def _publication(channel: str, frame: dict, header: dict) -> broadcast.Publication:
    return broadcast.Publication(channel, {k: v for k, v in header.items() if v not in (None, False)}, encode(frame))


@contextmanager
def _publishing(publication: broadcast.Publication) -> Iterator[None]:
    """Around the PUBLISH: its commit time, the tests' record, and the trace it continues."""
    publication.header["ts"] = time.time()  # commit time: the start of chat_message_fanout_seconds
    if _recorders:
        _record(publication)
    with tracing.span("fanout publish", tracing.PRODUCER, {"chat.frame": publication.header["kind"]}):
        carrier = tracing.context_carrier()
        if carrier:  # only while tracing: every ws process continues the trace from here
            publication.header["trace"] = carrier
        yield


def _publish_on_commit(channel: str, frame: dict, header: dict) -> None:
    publication = _publication(channel, frame, header)

    def send():
        with _publishing(publication):
            broadcast.publish(publication)

    transaction.on_commit(send)


def _room_header(room_id: int, frame: dict, seq, change, user_id, exclude, droppable) -> dict:
    return {"kind": frame["type"], "room": room_id, "seq": seq, "change": change, "only_user": user_id,
            "exclude": exclude, "droppable": droppable}


def publish(room_id: int, frame: dict, *, seq: int | None = None, change: int | None = None,
            user_id: int | None = None, exclude: str | None = None, droppable: bool = False) -> None:
    """A frame for every socket in a room, once the current transaction commits (at once in
    autocommit). `change`: the room change number PostgreSQL recorded for it (message_new,
    message_updated), by which ws processes notice and repair what they missed; `seq`: the
    message's seq (message_new). `user_id`: only that user's sockets act on it (room_removed).
    `exclude`: the socket that must not get it (the sending socket). `droppable`: typing and
    presence, the first to go under backpressure."""
    _publish_on_commit(room_group(room_id), frame, _room_header(room_id, frame, seq, change, user_id, exclude, droppable))


async def publish_committed(room_id: int, frame: dict, *, seq: int | None = None, change: int | None = None,
                            exclude: str | None = None) -> None:
    """publish() from an event loop, for a write that has already committed (chat.async_db)."""
    publication = _publication(room_group(room_id), frame, _room_header(room_id, frame, seq, change, None, exclude, False))
    with _publishing(publication):
        await broadcast.publish_async(publication)


def publish_to_user(user_id: int, frame: dict, *, room_id: int) -> None:
    """A frame about a room for one user's all-rooms sockets (room_added: they do not follow the
    room yet), once the current transaction commits."""
    _publish_on_commit(user_group(user_id), frame, {"kind": frame["type"], "room": room_id, "user": user_id})


SESSIONS_ENDED = "sessions_ended"  # internal: never written to a socket


def publish_sessions_ended(user_id: int, *, token_id: str | None = None) -> None:
    """Tell every ws process that a user's sessions ended (logout, log out everywhere, the user
    deactivated): the sockets opened with `token_id` (a token digest, never its key), or every
    socket of the user when it is None, close with 4001. A control event on the user's channel,
    which every socket follows; it carries no client frame."""
    _publish_on_commit(user_group(user_id), {"type": SESSIONS_ENDED},
                       {"kind": SESSIONS_ENDED, "user": user_id, "token": token_id})

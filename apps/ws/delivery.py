"""One publication as this process delivers it: read once, written to every local socket."""
from dataclasses import dataclass

from chat import events, frames


@dataclass(slots=True)
class Delivery:
    kind: str
    frame: bytes  # the frame's JSON, exactly as sockets receive it
    room: int | None = None
    seq: int | None = None  # message_new: sockets that already have it skip it
    change: int | None = None  # the room change number (message_new, message_updated)
    exclude: str | None = None  # the sending socket
    only_user: int | None = None  # room_removed: only the leaver's sockets act on it
    droppable: bool = False
    ts: float = 0.0
    trace: dict | None = None
    sender: int | None = None  # repaired message_new: its author and temp_id, so the
    temp_id: str | None = None  # socket that sent it (it has message_confirmed) skips it
    token: str | None = None  # sessions_ended: the ended token's digest (None: all of the user's)
    _text: str | None = None
    _prepared: object = None

    @classmethod
    def from_header(cls, header: dict, frame: bytes) -> "Delivery":
        return cls(kind=header["kind"], frame=frame, room=header.get("room"), seq=header.get("seq"),
                   change=header.get("change"), exclude=header.get("exclude"), only_user=header.get("only_user"),
                   droppable=header.get("droppable", False), ts=header.get("ts", 0.0), trace=header.get("trace"),
                   token=header.get("token"))

    @classmethod
    def repaired(cls, kind: str, message: dict) -> "Delivery":
        """A message read back from PostgreSQL (a publication this process missed)."""
        new = kind == "message_new"
        frame = frames.message_new(message) if new else frames.message_updated(message)
        return cls(kind=kind, frame=events.encode(frame), room=message["room"],
                   seq=message["seq"] if new else None, sender=message["user"]["id"] if new else None,
                   temp_id=message["temp_id"] if new else None)

    @property
    def text(self) -> str:
        if self._text is None:
            self._text = self.frame.decode()
        return self._text

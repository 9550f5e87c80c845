"""Receipts: the delivered and read watermarks of a member, moved forward only."""
from typing import Literal

from django.db.models import F, Value
from django.db.models.functions import Greatest

from chat import events, frames, queries
from chat.errors import InvalidInput
from chat.models import Membership
from chat.text import clean_id


def mark(user, *, room_id: int, message_id: object, kind: Literal["delivered", "read"]) -> frames.Receipt | None:
    """Move the user's delivered or read watermark in the room up to a message (never back; read
    implies delivered). The receipt published to the room, or None when the watermark did not move."""
    if kind not in ("delivered", "read"):
        raise InvalidInput("kind is 'delivered' or 'read'", field="kind")
    queries.membership(user.id, room_id)
    message = queries.visible_message(user.id, clean_id(message_id, "message_id"), room_id=room_id)
    seq = message.seq
    watermarks = Membership.objects.filter(room_id=room_id, user_id=user.id)
    if kind == "read":
        moved = watermarks.filter(last_read_seq__lt=seq).update(
            last_read_seq=seq, last_delivered_seq=Greatest(F("last_delivered_seq"), Value(seq)))
    else:
        moved = watermarks.filter(last_delivered_seq__lt=seq).update(last_delivered_seq=seq)
    if not moved:
        return None
    receipt = frames.receipt(room_id=room_id, user_id=user.id, kind=kind, message_id=message.id, seq=seq)
    events.publish(room_id, receipt)
    return receipt

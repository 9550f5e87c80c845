"""A room's counters, in one place: `last_seq` numbers its messages, `last_change_seq` every change.

Both move only through the UPDATE below. It takes the room's row lock, so concurrent writes to a
room queue on it and take consecutive numbers in commit order (docs/architecture.md, "The
invariants"). The send statement embeds it as a CTE (chat/sending.py); changes and imports run it
on its own.
"""
from django.db import connection

# Parameters: %(room)s, %(messages)s (new messages), %(changes)s (new changes).
ADVANCE = ("UPDATE chat_room SET last_seq = last_seq + %(messages)s, last_change_seq = last_change_seq + %(changes)s "
           "WHERE id = %(room)s RETURNING last_seq, last_change_seq")
# The same, only when %(sender)s is a member of the room (no row back otherwise).
ADVANCE_FOR_MEMBER = ADVANCE.replace(
    " RETURNING", " AND EXISTS (SELECT 1 FROM chat_membership WHERE room_id = %(room)s AND user_id = %(sender)s)"
                  " RETURNING")


def advance(room_id: int, *, messages: int, changes: int) -> tuple[int, int]:
    """Take the room's next numbers; the room's (last_seq, last_change_seq) after the increment."""
    with connection.cursor() as cursor:
        cursor.execute(ADVANCE, {"room": room_id, "messages": messages, "changes": changes})
        return cursor.fetchone()


def next_change_seq(room_id: int) -> int:
    """The change number of one edit, delete or reaction."""
    return advance(room_id, messages=0, changes=1)[1]

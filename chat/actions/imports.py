"""Bulk import (demo data, benchmarks, migrations from another system)."""
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from chat import counters
from chat.models import Message
from chat.text import clean_content


def import_messages(room_id: int, rows: list[tuple[int, str]], *, batch_size: int = 5000) -> int:
    """Append (sender_id, content) rows to a room in one transaction, numbering them from the
    room's next seq exactly like live sends. No events: nobody is watching an import."""
    with transaction.atomic():
        last_seq, last_change = counters.advance(room_id, messages=len(rows), changes=len(rows))
        first_seq, first_change = last_seq - len(rows) + 1, last_change - len(rows) + 1
        now = timezone.now()
        step = timedelta(seconds=30)
        messages = [
            Message(room_id=room_id, sender_id=sender_id, seq=first_seq + i, temp_id=f"import-{first_seq + i}",
                    content=clean_content(content), created_at=now - step * (len(rows) - i),
                    created_change_seq=first_change + i, change_seq=first_change + i)
            for i, (sender_id, content) in enumerate(rows)
        ]
        Message.objects.bulk_create(messages, batch_size=batch_size)
    return len(messages)

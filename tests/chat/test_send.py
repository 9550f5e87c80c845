import threading

import pytest
from django.db import connection

from chat import actions
from chat.models import Message, Room


@pytest.mark.django_db(transaction=True)
def test_concurrent_sends_get_gap_free_unique_seqs(make_user, make_room):
    """8 threads sending into one room: seq 1..N, no gaps, no duplicates."""
    users = [make_user() for _ in range(8)]
    room = make_room(owner=users[0], members=users[1:])
    per_thread = 25
    errors = []

    def sender(user):
        try:
            for i in range(per_thread):
                actions.send_message(user, room_id=room["id"], content=f"hello {i} from {user.username}", temp_id=f"t-{user.id}-{i}")
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=sender, args=(u,)) for u in users]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    seqs = sorted(Message.objects.filter(room_id=room["id"]).values_list("seq", flat=True))
    assert seqs == list(range(1, 8 * per_thread + 1))
    assert Room.objects.get(id=room["id"]).last_seq == 8 * per_thread


@pytest.mark.django_db(transaction=True)
def test_concurrent_retries_of_one_temp_id_store_one_message(make_user, make_room):
    user = make_user()
    room = make_room(owner=user)
    results = []
    barrier = threading.Barrier(8)

    def retry():
        try:
            barrier.wait()
            results.append(actions.send_message(user, room_id=room["id"], content="once", temp_id="same-temp-id"))
        finally:
            connection.close()

    threads = [threading.Thread(target=retry) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert Message.objects.filter(room_id=room["id"]).count() == 1
    assert len({r.message["id"] for r in results}) == 1
    assert sum(r.created for r in results) == 1
    assert Room.objects.get(id=room["id"]).last_seq == 1

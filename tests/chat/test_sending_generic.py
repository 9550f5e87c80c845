"""The generic (SQLite, embedded run) insert path of chat.sending gives the same results as the
one-statement PostgreSQL path: consecutive seqs, exactly once per temp_id, sender watermarks."""
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from chat.models import Membership, Message, Room
from chat.sending import insert_message

ROOT = Path(__file__).resolve().parents[2]


def _run_both_paths(room_id, sender_id):
    results = {}
    for generic in (False, True):
        tag = "g" if generic else "p"
        first = insert_message(room_id=room_id, sender_id=sender_id, temp_id=f"{tag}-1", message_type="text",
                               content="პირველი", generic=generic)
        second = insert_message(room_id=room_id, sender_id=sender_id, temp_id=f"{tag}-2", message_type="text",
                                content="second", generic=generic)
        retry = insert_message(room_id=room_id, sender_id=sender_id, temp_id=f"{tag}-1", message_type="text",
                               content="პირველი", generic=generic)
        results[generic] = (first, second, retry)
    return results


@pytest.mark.django_db
def test_generic_path_matches_postgres_path(make_user, make_room):
    owner, other = make_user(), make_user()
    room = make_room(owner=owner, members=[other])
    results = _run_both_paths(room["id"], owner.id)
    pg_first, pg_second, pg_retry = results[False]
    g_first, g_second, g_retry = results[True]
    assert (pg_first.seq, pg_second.seq) == (1, 2)
    assert (g_first.seq, g_second.seq) == (3, 4)
    assert pg_retry is None and g_retry is None  # a seen temp_id inserts nothing
    assert g_second.change_seq == g_first.change_seq + 1
    assert Room.objects.get(id=room["id"]).last_seq == 4  # the refused retries left no gap
    assert list(Message.objects.filter(room_id=room["id"]).order_by("seq").values_list("seq", "temp_id")) == [
        (1, "p-1"), (2, "p-2"), (3, "g-1"), (4, "g-2")]
    own = Membership.objects.get(room_id=room["id"], user=owner)
    assert (own.last_read_seq, own.last_delivered_seq) == (4, 4)
    theirs = Membership.objects.get(room_id=room["id"], user=other)
    assert (theirs.last_read_seq, theirs.last_delivered_seq) == (0, 0)
    # A non-member inserts nothing through either path.
    stranger = make_user()
    for generic in (False, True):
        assert insert_message(room_id=room["id"], sender_id=stranger.id, temp_id="s", message_type="text",
                              content="x", generic=generic) is None
    assert Room.objects.get(id=room["id"]).last_seq == 4


@pytest.mark.django_db
def test_generic_path_keeps_watermarks_that_are_ahead(make_user, make_room):
    owner = make_user()
    room = make_room(owner=owner)
    Membership.objects.filter(room_id=room["id"], user=owner).update(last_read_seq=50, last_delivered_seq=50)
    inserted = insert_message(room_id=room["id"], sender_id=owner.id, temp_id="w", message_type="text",
                              content="x", generic=True)
    assert inserted.seq == 1
    own = Membership.objects.get(room_id=room["id"], user=owner)
    assert (own.last_read_seq, own.last_delivered_seq) == (50, 50)


def test_generic_path_on_sqlite(tmp_path):
    """The embedded run's database: the same sends through the actions on SQLite."""
    script = textwrap.dedent("""
        import django
        django.setup()
        from django.core.management import call_command
        call_command("migrate", verbosity=0)
        from django.contrib.auth import get_user_model
        from chat import actions, queries
        from chat.models import Membership
        User = get_user_model()
        a = User.objects.create_user("a", password="x-password-1")
        b = User.objects.create_user("b", password="x-password-1")
        room, _ = actions.create_room(a, name="r", members=[b.id])
        r1 = actions.send_message(a, room_id=room["id"], content="გამარჯობა", temp_id="t1")
        r2 = actions.send_message(b, room_id=room["id"], content="hi", temp_id="t2")
        r3 = actions.send_message(a, room_id=room["id"], content="გამარჯობა", temp_id="t1")
        assert (r1.created, r2.created, r3.created) == (True, True, False), (r1, r2, r3)
        assert r3.message["id"] == r1.message["id"]
        assert [r1.message["seq"], r2.message["seq"]] == [1, 2]
        m = Membership.objects.get(room_id=room["id"], user=b)
        assert (m.last_read_seq, m.last_delivered_seq) == (2, 2)
        page = queries.history_page(a.id, room["id"], limit=10)
        assert [x["seq"] for x in page["messages"]] == [1, 2]
        print("SQLITE-OK")
    """)
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.dev",
           "DATABASE_URL": f"sqlite:///{tmp_path / 'chat.sqlite3'}", "CHAT_VAR_DIR": str(tmp_path),
           "REDIS_URL": "", "REDIS_SENTINELS": ""}
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "SQLITE-OK" in done.stdout

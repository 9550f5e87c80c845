"""Benchmark databases and their data: users with tokens and rooms of members, created in bulk;
and a run's Redis keys, deleted by its prefix afterwards.

`rebuild_database` / `drop_database` act on a database of the PostgreSQL server named by
BENCH_PG_ADMIN_URL, else DATABASE_URL (a postgres:// one), else the libpq variables. `seed()`
migrates it through the launcher and fills it in a child process (`python -m harness.seeding`),
so the caller stays free of Django; `seed_rooms()` is that child's work and runs in any Django
process.
"""
import argparse
import json
import os
import re
import secrets
import subprocess
import sys
from urllib.parse import urlparse, urlunparse

from config.env import postgres_url_from_pg_env

from harness.processes import ROOT

CONTENT = "benchmark message — ქართული ტექსტი and English, about sixty bytes"


def admin_url() -> str:
    url = os.environ.get("BENCH_PG_ADMIN_URL") or os.environ.get("DATABASE_URL") or ""
    if not url.startswith(("postgres://", "postgresql://")):
        url = postgres_url_from_pg_env("postgres")
    return database_url("postgres", url)


def database_url(name: str, server: str | None = None) -> str:
    return urlunparse(urlparse(server or admin_url())._replace(path=f"/{name}"))


def _admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(admin_url().replace("postgres://", "postgresql://", 1), autocommit=True) as conn:
        conn.execute(sql)


def _checked(name: str) -> str:
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,40}", name):
        raise SystemExit(f"unsafe database name {name!r}")
    return name


def rebuild_database(name: str) -> None:
    drop_database(name)
    _admin(f'CREATE DATABASE "{_checked(name)}"')


def drop_database(name: str) -> None:
    _admin(f'DROP DATABASE IF EXISTS "{_checked(name)}" WITH (FORCE)')


def forget_redis_keys(url: str, prefix: str) -> None:
    """Delete one run's Redis keys (those carrying its unique prefix, nothing else)."""
    import redis

    client = redis.Redis.from_url(url, socket_timeout=5)
    batch = []
    for key in client.scan_iter(match=f"*{prefix}*", count=1000):
        batch.append(key)
        if len(batch) == 500:
            client.delete(*batch)
            batch = []
    if batch:
        client.delete(*batch)
    client.close()


def seed(env: dict, rooms: int, room_size: int, sync_messages: int = 0, analyze: bool = False) -> dict:
    """Migrate the database of `env` (None values: unset) and seed it; returns `seed_rooms`' layout."""
    env = {k: v for k, v in env.items() if v is not None}
    subprocess.run([sys.executable, "-m", "config.launch", "migrate"], cwd=ROOT, env=env, check=True, timeout=300,
                   stdout=subprocess.DEVNULL)
    out = subprocess.run([sys.executable, "-m", "harness.seeding", "--rooms", str(rooms), "--room-size",
                          str(room_size), "--sync-messages", str(sync_messages), *(["--analyze"] if analyze else [])],
                         cwd=ROOT, env=env, check=True, timeout=600, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def seed_rooms(rooms: int, room_size: int, sync_messages: int = 0) -> dict:
    """`rooms` rooms of `room_size` members (one user each, with a token), plus one room of its
    own user holding `sync_messages` messages (for sync measurements). Returns
    {"rooms": [{"room", "members": [{"user", "token"}]}], "sync": {"room", "user", "token", "last_seq"}}."""
    from django.contrib.auth import get_user_model
    from accounts.tokens import issue_tokens
    from chat import actions
    from chat.models import Membership, Room

    User = get_user_model()
    tag = secrets.token_hex(3)
    users = User.objects.bulk_create([User(username=f"bench-{tag}-{i}", password="!")
                                      for i in range(rooms * room_size + 1)])
    # In bulk (issue_token is one transaction per user: seconds for a 2,000-member room).
    token_of = issue_tokens(users)
    room_rows = Room.objects.bulk_create(
        [Room(kind="group", name=f"bench {r}", created_by=users[r * room_size]) for r in range(rooms + 1)])
    memberships, layout = [], []
    for r in range(rooms):
        members = users[r * room_size:(r + 1) * room_size]
        memberships += [Membership(room=room_rows[r], user=u, role="owner" if i == 0 else "member")
                        for i, u in enumerate(members)]
        layout.append({"room": room_rows[r].id, "members": [{"user": u.id, "token": token_of[u.id]} for u in members]})
    sync_room, sync_user = room_rows[rooms], users[-1]
    memberships.append(Membership(room=sync_room, user=sync_user, role="owner"))
    Membership.objects.bulk_create(memberships, batch_size=5000)
    if sync_messages:
        actions.import_messages(sync_room.id, [(sync_user.id, f"{CONTENT} #{i}") for i in range(sync_messages)])
    return {"rooms": layout, "sync": {"room": sync_room.id, "user": sync_user.id, "token": token_of[sync_user.id],
                                      "last_seq": sync_messages}}


def main() -> None:
    parser = argparse.ArgumentParser(description="seed the database of DATABASE_URL; prints the layout as JSON")
    parser.add_argument("--rooms", type=int, required=True)
    parser.add_argument("--room-size", type=int, required=True)
    parser.add_argument("--sync-messages", type=int, default=0)
    parser.add_argument("--analyze", action="store_true", help="VACUUM ANALYZE after seeding (benchmarks)")
    args = parser.parse_args()
    import django

    django.setup()
    layout = seed_rooms(args.rooms, args.room_size, args.sync_messages)
    if args.analyze:
        analyze()
    print(json.dumps(layout))


def analyze() -> None:
    """Planner statistics for the rows just bulk-loaded (a production database has them; a
    fresh one has none until autovacuum gets to it, possibly in the middle of a measured run)."""
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")


if __name__ == "__main__":
    main()

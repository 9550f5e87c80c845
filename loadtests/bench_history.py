"""History-page benchmark (DESIGN section 10: page of 100 from a 100k-message room, p95 <= 15 ms).

    make bench-history          # = .venv/bin/python -m loadtests.bench_history

Creates its own PostgreSQL database (BENCH_DB, default `chat_bench`; on the server of
BENCH_PG_ADMIN_URL, DATABASE_URL or the PG* variables), migrates it, fills one room with
BENCH_MESSAGES (100,000) messages from several senders with reactions on some, then times
BENCH_REQUESTS (default 1,000) requests EACH of the newest / before / after / around pages of
limit 100 with random cursors, interleaved.

Server time = the full Django request handling in-process (middleware, token auth, DRF view,
queries, JSON rendering), timed around django.test.Client.get(); no network, no client parsing.
Settings are the production-like base settings (DEBUG off, persistent DB connection).
Exits 1 when any kind misses the p95 budget. BENCH_KEEP_DB=1 keeps the database afterwards.
"""
import os
import random
import statistics
import sys
import time
from urllib.parse import urlparse

from harness import seeding
from harness.stats import pct

BUDGET_P95_MS = float(os.environ.get("BENCH_BUDGET_P95_MS", "15"))
DB_NAME = os.environ.get("BENCH_DB", "chat_bench")
MESSAGES = int(os.environ.get("BENCH_MESSAGES", "100000"))
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "1000"))
WARMUP = int(os.environ.get("BENCH_WARMUP", "100"))
LIMIT = 100
SEED = int(os.environ.get("BENCH_SEED", "20261124"))
KINDS = ("newest", "before", "after", "around")


def setup_django() -> None:
    os.environ["DATABASE_URL"] = seeding.database_url(DB_NAME)
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.base"
    os.environ.setdefault("DB_CONN_MAX_AGE", "600")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()


LINES = (
    "გამარჯობა! როგორ ხარ?",
    "Did you see the release notes for the new version?",
    "ხვალ შეხვედრა ათ საათზე გვაქვს, არ დაგავიწყდეს.",
    "Sure, I'll send the document after lunch.",
    "თბილისში დღეს ძალიან ცხელა ☀️",
    "The deploy went fine, metrics look normal.",
    "ეს შეტყობინება საკმაოდ გრძელია, რომ გადავამოწმოთ როგორ მუშაობს გრძელი ტექსტის ჩვენება და გადატანა ხაზზე.",
    "ok 👍",
)


def populate() -> dict:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from accounts.tokens import issue_token

    from chat import actions
    from chat.models import Message, Reaction

    rng = random.Random(SEED)
    User = get_user_model()
    users = [User.objects.create_user(username=name, password="bench-password-1")
             for name in ("nino", "giorgi", "alice", "tamar", "levan", "bob")]
    room, _ = actions.create_room(users[0], name="bench · ბენჩმარკი", members=[u.id for u in users[1:]])
    started = time.perf_counter()
    batch = 20_000
    for start in range(0, MESSAGES, batch):
        rows = [(rng.choice(users).id, f"{rng.choice(LINES)} #{start + i}")
                for i in range(min(batch, MESSAGES - start))]
        actions.import_messages(room["id"], rows)
    ids = list(Message.objects.filter(room_id=room["id"]).order_by("seq").values_list("id", flat=True))
    reactions = []
    for mid in ids:
        if rng.random() < 0.15:  # reactions on ~15% of the messages, 1-4 each
            for user in rng.sample(users, rng.randint(1, 4)):
                reactions.append(Reaction(message_id=mid, user_id=user.id, emoji=rng.choice("👍❤😂🔥🎉")))
    Reaction.objects.bulk_create(reactions, batch_size=10_000, ignore_conflicts=True)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    token = issue_token(users[1])
    print(f"populated {len(ids):,} messages, {len(reactions):,} reactions, {len(users)} senders "
          f"in {time.perf_counter() - started:.1f} s", flush=True)
    return {"room": room["id"], "ids": ids, "token": token}


def run(data: dict) -> dict[str, list[float]]:
    from django.test import Client

    client = Client(HTTP_AUTHORIZATION=f"Token {data['token']}")
    ids, room = data["ids"], data["room"]
    rng = random.Random(SEED + 1)

    def params(kind: str) -> dict:
        if kind == "newest":
            return {"room": room, "limit": LIMIT}
        if kind == "before":
            return {"room": room, "limit": LIMIT, "before": rng.choice(ids[LIMIT:])}
        if kind == "after":
            return {"room": room, "limit": LIMIT, "after": rng.choice(ids[:-LIMIT])}
        return {"room": room, "limit": LIMIT, "around": rng.choice(ids)}

    def one(kind: str) -> float:
        query = params(kind)
        started = time.perf_counter()
        response = client.get("/api/chat/messages/", query)
        elapsed = time.perf_counter() - started
        if response.status_code != 200:
            raise SystemExit(f"{kind} {query}: HTTP {response.status_code} {response.content[:200]!r}")
        return elapsed * 1000

    for i in range(WARMUP):
        one(KINDS[i % len(KINDS)])
    # sanity: a page really is 100 messages with the contract's shape
    page = client.get("/api/chat/messages/", {"room": room, "limit": LIMIT, "around": ids[len(ids) // 2]}).json()
    assert len(page["messages"]) == LIMIT and page["has_more_before"] and page["has_more_after"], page.keys()

    schedule = [kind for kind in KINDS for _ in range(REQUESTS)]
    rng.shuffle(schedule)  # interleaved, so no kind gets a warmer cache than another
    timings: dict[str, list[float]] = {kind: [] for kind in KINDS}
    for kind in schedule:
        timings[kind].append(one(kind))
    return timings


def report(timings: dict[str, list[float]]) -> bool:
    ok = True
    print(f"\nhistory page, limit {LIMIT}, {MESSAGES:,}-message room, server time in ms "
          f"({REQUESTS} requests per kind)")
    print(f"{'kind':8} {'n':>5} {'p50':>7} {'p95':>7} {'p99':>7} {'mean':>7} {'max':>7}  budget p95 <= {BUDGET_P95_MS:g}")
    for kind, values in timings.items():
        p95 = pct(values, 95)
        verdict = "ok" if p95 <= BUDGET_P95_MS else "MISSED"
        ok = ok and p95 <= BUDGET_P95_MS
        print(f"{kind:8} {len(values):5d} {pct(values, 50):7.2f} {p95:7.2f} {pct(values, 99):7.2f} "
              f"{statistics.fmean(values):7.2f} {max(values):7.2f}  {verdict}")
    return ok


def main() -> int:
    print(f"database {DB_NAME!r} on {urlparse(seeding.admin_url()).hostname}; python {sys.version.split()[0]}", flush=True)
    seeding.rebuild_database(DB_NAME)
    try:
        setup_django()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        data = populate()
        timings = run(data)
        ok = report(timings)
    finally:
        from django.db import connections

        connections.close_all()
        if os.environ.get("BENCH_KEEP_DB") != "1":
            seeding.drop_database(DB_NAME)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

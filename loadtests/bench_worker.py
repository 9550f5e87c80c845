"""`make bench-worker`: Web Push notifications one Celery worker process sends (docs/benchmarks.md "Worker").

Two phases against one worker (`python -m config.launch worker`, production settings, pinned to
--worker-cores) and a local push endpoint in this process (aiohttp, keep-alive, answers 201 at
once and records when each request arrived and its Topic; the tests' push service, which also
decrypts every payload, costs this 2-core box more CPU than the worker under test):

  drain  --backlog rooms get one message each while no worker runs (each notifies --members
         offline subscribers); then the worker starts: notifications/s from its first push
         request to its last (the worker's ceiling).
  paced  --rate notifications/s (messages/s = rate / members, round-robin over rooms, each room
         at most once per 2 s so no burst coalesces) for --duration s: commit (send_message
         returned) -> push request received, p50/p95/p99, and whether the worker kept up.

The messages go through the real chat.actions.send_message in this process (commit -> the task
published to Redis); latency is from the commit of the room's newest message before the request
(the one a notification carries; a room gets a message every 2 s). The database (--db) is rebuilt per invocation; Redis keys carry a unique
prefix and are deleted at the end; the worker is stopped by its pid. --repeat runs both phases
again with a fresh worker. CPU: the worker's own seconds, this process (sender + push service),
PostgreSQL, Redis, the rest of the box.

    .venv/bin/python -m loadtests.bench_worker
    .venv/bin/python -m loadtests.bench_worker --pool prefork --concurrency 2
"""
import argparse
import asyncio
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from datetime import datetime, timezone

import psutil

from harness import processes, seeding
from harness.cpu import CpuAccount, box_load, busiest
from harness.push import b64, new_browser
from harness.stats import summary_ms

REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
ROOM_GAP_S = 2.0  # a room gets a message at most this often in the paced phase (no coalescing)


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="bench_worker")
    parser.add_argument("--members", type=int, default=10, help="offline subscribers per room")
    parser.add_argument("--backlog", type=int, default=150, help="rooms (messages) of the drain phase")
    parser.add_argument("--rate", type=float, default=200.0, help="notifications/s of the paced phase")
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--pool", default="threads", choices=["threads", "prefork", "solo"])
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--answer-ms", type=float, default=0.0,
                        help="the endpoint holds each request this long (a real push service's round trip)")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--worker-cores", default="1", help="taskset for the worker ('' for none)")
    parser.add_argument("--client-cores", default="0", help="this process's cores ('' for none)")
    parser.add_argument("--profile", help="py-spy (pip install py-spy) records the worker: an SVG, or .txt for "
                        "collapsed stacks")
    parser.add_argument("--json", help="append each run's result as a JSON line to this file")
    return parser.parse_args()


def env_for(db: str, prefix: str, vapid_key: str) -> dict:
    return {"DJANGO_SETTINGS_MODULE": "config.settings.production", "SECRET_KEY": "bench-worker-not-a-secret",
            "ALLOWED_HOSTS": "127.0.0.1", "DATABASE_URL": seeding.database_url(db), "REDIS_URL": REDIS_URL,
            "REDIS_SENTINELS": None, "REDIS_KEY_PREFIX": prefix, "VAPID_PRIVATE_KEY": vapid_key,
            "CHAT_PUSH_ALLOW_HTTP": "true", "LOG_LEVEL": "WARNING"}  # DB_CONN_MAX_AGE: the default, 600 s


def setup_django(env: dict) -> None:
    """This process sends through the real actions: the same settings as the worker's."""
    for key, value in env.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    import django

    django.setup()


def subscribe_all(layout: dict, push: "Endpoint") -> list[dict]:
    """Every member but a room's first (the sender) gets a fake browser subscription."""
    from chat.models import PushSubscription

    rows, rooms = [], []
    _, keys = new_browser()  # the keys do not matter to an endpoint that does not decrypt
    for room in layout["rooms"]:
        sender, *offline = room["members"]
        for member in offline:
            rows.append(PushSubscription(user_id=member["user"], endpoint=f"{push.base_url}/push/u{member['user']}",
                                         p256dh=keys["p256dh"], auth=keys["auth"]))
        rooms.append({"room": room["room"], "sender": sender["user"]})
    PushSubscription.objects.bulk_create(rows, batch_size=2000)
    return rooms


class Endpoint:
    """The push endpoint: aiohttp on its own event loop thread; (arrival, room id) per request."""

    def __init__(self, answer_s: float = 0.0):
        self.answer_s = answer_s
        self.port = processes.free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.lock = threading.Lock()
        self.seen: list[tuple[float, int]] = []
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._serve, name="push-endpoint", daemon=True)

    def _serve(self) -> None:
        from aiohttp import web

        async def push(request):
            await request.read()
            room = int(request.headers.get("Topic", "room-0").rsplit("-", 1)[-1])
            with self.lock:
                self.seen.append((time.time(), room))
            if self.answer_s:
                await asyncio.sleep(self.answer_s)
            return web.Response(status=201)

        async def main():
            app = web.Application()
            app.router.add_post("/push/{name}", push)
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", self.port).start()
            self.ready.set()
            await asyncio.Event().wait()

        asyncio.run(main())

    def start(self) -> "Endpoint":
        self.thread.start()
        self.ready.wait(10)
        return self

    def take(self) -> list[tuple[float, int]]:
        with self.lock:
            seen, self.seen = self.seen, []
        return seen

    def wait_count(self, count: int, timeout: float, quiet: float = 5.0) -> bool:
        """Until `count` requests arrived (True), or none for `quiet` s or `timeout` (False)."""
        deadline = time.monotonic() + timeout
        last, last_change = -1, time.monotonic()
        while time.monotonic() < deadline:
            with self.lock:
                seen = len(self.seen)
            if seen >= count:
                return True
            if seen != last:
                last, last_change = seen, time.monotonic()
            elif time.monotonic() - last_change > quiet:
                return False
            time.sleep(0.05)
        return False


def send(users: dict, room: dict, text: str, commits: dict) -> None:
    from chat import actions

    actions.send_message(users[room["sender"]], room_id=room["room"], content=text)
    commits.setdefault(room["room"], []).append(time.time())  # returned: committed, the task published


def latency(commits: dict, arrived: float, room: int) -> float | None:
    """From the commit of the room's newest message before the request arrived."""
    before = [t for t in commits.get(room, ()) if t <= arrived]
    return arrived - before[-1] if before else None


def start_worker(args, env: dict):
    extra = {"CELERY_WORKER_POOL": args.pool, "LOG_LEVEL": "INFO"}  # what production logs
    worker = processes.worker({**os.environ, **env, **extra}, concurrency=args.concurrency,
                              cores=args.worker_cores or None)
    worker.wait_ready()
    profiler = None
    if args.profile:
        fmt = "raw" if args.profile.endswith(".txt") else "flamegraph"  # raw: collapsed stacks
        profiler = subprocess.Popen([os.path.join(os.path.dirname(sys.executable), "py-spy"), "record", "-o",
                                     args.profile, "--pid", str(worker.pid), "--subprocesses", "--gil", "--rate", "100",
                                     "--format", fmt],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return worker, profiler


def drain(args, rooms, users, recorder, env) -> tuple[dict, object, object]:
    commits: dict[int, float] = {}
    for i, room in enumerate(rooms[:args.backlog]):
        send(users, room, f"backlog {i}: გამარჯობა", commits)
    expected = min(args.backlog, len(rooms)) * args.members
    cpu_worker = None
    worker, profiler = start_worker(args, env)
    account = CpuAccount({"worker": [psutil.Process(worker.pid)]}).start()
    done = recorder.wait_count(expected, timeout=120)
    cpu_worker = account.stop()
    seen = recorder.take()
    times = sorted(t for t, _ in seen)
    span = (times[-1] - times[0]) if len(times) > 1 else None
    result = {"notifications": len(seen), "expected": expected, "complete": done,
              "span_s": round(span, 2) if span else None,
              "per_s": round((len(times) - 1) / span, 1) if span else None, "cpu": cpu_worker}
    return result, worker, profiler


def paced(args, rooms, users, recorder) -> dict:
    per_room = max(1, int(args.rate / args.members * ROOM_GAP_S + 0.999))
    pool = rooms[args.backlog:]
    if len(pool) < per_room:
        raise SystemExit(f"need {per_room} rooms beyond the backlog for {args.rate}/s")
    interval = args.members / args.rate  # one message notifies `members` subscribers
    commits: dict[int, float] = {}
    start = time.perf_counter()
    n = 0
    while (elapsed := time.perf_counter() - start) < args.duration:
        due = start + n * interval
        if due > time.perf_counter():
            time.sleep(due - time.perf_counter())
        send(users, pool[n % per_room], f"paced {n}: ნაწილი {n}", commits)
        n += 1
    sent_s = time.perf_counter() - start
    expected = n * args.members
    caught_up = recorder.wait_count(expected, timeout=60)
    seen = recorder.take()
    latencies = [v for arrived, room in seen if (v := latency(commits, arrived, room)) is not None]
    times = sorted(t for t, _ in seen)
    # Fewer than expected: the worker fell behind and a room's next message was committed before
    # its task ran, so one notification covered both (coalesced, by design).
    return {"messages": n, "notifications": len(seen), "expected": expected, "caught_up": caught_up,
            "offered_per_s": round(expected / sent_s, 1),
            "delivered_per_s": round(len(times) / (times[-1] - times[0]), 1) if len(times) > 1 else None,
            "commit_to_push_ms": summary_ms(latencies)}


def one_run(args, rooms, users, recorder, env) -> dict:
    before = {"uptime": subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip(),
              "box": box_load(), "busiest": busiest()}
    worker = profiler = None
    try:
        drained, worker, profiler = drain(args, rooms, users, recorder, env)
        account = CpuAccount({"worker": [psutil.Process(worker.pid)]}).start()
        paced_result = paced(args, rooms, users, recorder)
        paced_result["cpu"] = account.stop()
        metrics = processes.get(f"{worker.url}/metrics")[1].decode()
    finally:
        if profiler is not None:
            profiler.send_signal(2)  # SIGINT: py-spy writes its SVG
            profiler.wait(30)
        if worker is not None:
            worker.kill()
    sent = sum(float(line.split()[-1]) for line in metrics.splitlines()
               if line.startswith('chat_push_requests_total{result="sent"}'))
    return {"at": datetime.now(timezone.utc).isoformat(timespec="seconds"), "pool": args.pool,
            "concurrency": args.concurrency, "members_per_room": args.members, "answer_ms": args.answer_ms, "before": before,
            "drain": drained, "paced": paced_result, "worker_push_sent_total": sent,
            "uptime_after": subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()}


def main() -> None:
    args = parse()
    from cryptography.hazmat.primitives.asymmetric import ec

    prefix = f"bench-worker-{uuid.uuid4().hex[:8]}"
    vapid_key = b64(ec.generate_private_key(ec.SECP256R1()).private_numbers().private_value.to_bytes(32, "big"))
    env = env_for(args.db, prefix, vapid_key)
    per_room = int(args.rate / args.members * ROOM_GAP_S + 0.999)
    room_count = args.backlog * args.repeat + per_room
    seeding.rebuild_database(args.db)
    try:
        layout = seeding.seed(env, room_count, args.members + 1)
        setup_django(env)
        from django.contrib.auth import get_user_model

        if args.client_cores:
            os.sched_setaffinity(0, {int(c) for c in args.client_cores.split(",")})
        push = Endpoint(args.answer_ms / 1000).start()
        rooms = subscribe_all(layout, push)
        users = {u.id: u for u in get_user_model().objects.filter(id__in=[r["sender"] for r in rooms])}
        for i in range(args.repeat):
            # Each repeat drains rooms of its own (a room notified once has a ledger row already).
            block = rooms[i * args.backlog:(i + 1) * args.backlog] + rooms[args.repeat * args.backlog:]
            result = one_run(args, block, users, push, env)
            print(json.dumps(result, ensure_ascii=False), flush=True)
            if args.json:
                with open(args.json, "a") as handle:
                    handle.write(json.dumps(result, ensure_ascii=False) + "\n")
    finally:
        from django.db import connections

        connections.close_all()
        seeding.forget_redis_keys(REDIS_URL, prefix)
        seeding.drop_database(args.db)


if __name__ == "__main__":
    sys.exit(main())

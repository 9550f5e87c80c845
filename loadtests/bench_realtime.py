"""`make bench-realtime`: the WebSocket budgets of DESIGN section 10 on ONE Daphne process.

Phases (each on a fresh Daphne, pinned to one core; this load generator pinned to the other):

  fanout  rooms of --room-size members, one socket per member, --rate sends/s for --duration s.
          send -> message_confirmed (at the sender) and send -> message_new (at every other member),
          p50/p95/p99; every member's seqs checked for loss and duplicates; members that saw a gap
          send sync_request afterwards and the recovery is verified.
  idle    --idle sockets opened (bounded concurrency) and held: connects/s, RSS per connection.
  sync    delta sync of --sync-missed messages on an idle server, --sync-reps times: client round
          trip p50/p95 and the server's own `chat_sync_seconds` from /metrics.

Everything it starts (Daphne, py-spy) is stopped on exit, Ctrl-C and errors. Only 127.0.0.1 is
contacted. Its PostgreSQL database (`chat_bench_rt` by default) is dropped and rebuilt each run; its
Redis keys live under a unique prefix and are deleted at the end.

    .venv/bin/python -m loadtests.bench_realtime                       # every phase, core layer
    .venv/bin/python -m loadtests.bench_realtime --phase fanout --layer pubsub --rate 200 --duration 60
    .venv/bin/python -m loadtests.bench_realtime --phase idle --idle 10000
    .venv/bin/python -m loadtests.bench_realtime --phase sync --sync-reps 500
"""
from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import re
import resource
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import orjson
import psutil
import websockets
from websockets.asyncio.client import connect as ws_connect

from harness.processes import Process, free_port

ROOT = Path(__file__).resolve().parents[1]
PG_ADMIN = os.environ.get("BENCH_PG_ADMIN_URL", "postgres://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
CONTENT = "benchmark message — ქართული ტექსტი and English, about sixty bytes"


# --- small helpers -------------------------------------------------------------------------

def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, int(round(q / 100 * len(ordered) + 0.5)) - 1))
    return ordered[index]


def ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 1000:.1f} ms"


def summary_ms(values: list[float]) -> dict:
    return {"n": len(values), **{f"p{q}": (None if pct(values, q) is None else round(pct(values, q) * 1000, 2))
                                 for q in (50, 95, 99)},
            "max": round(max(values) * 1000, 2) if values else None}


def box_load() -> dict:
    """How busy the machine is (other engineers share it): load average and per-core use over 1 s."""
    per_core = psutil.cpu_percent(interval=1.0, percpu=True)
    return {"loadavg": [round(x, 2) for x in os.getloadavg()], "cpu_percent_per_core": per_core}


def others_cpu_top(limit: int = 5) -> list[str]:
    """The busiest processes not started by this benchmark (who else loads the box)."""
    procs = []
    for proc in psutil.process_iter(["pid", "name", "cmdline"]):
        try:
            proc.cpu_percent(None)
            procs.append(proc)
        except psutil.Error:
            pass
    time.sleep(0.5)
    rows = []
    for proc in procs:
        try:
            rows.append((proc.cpu_percent(None), proc.pid, " ".join(proc.info["cmdline"] or [proc.info["name"] or ""])[:90]))
        except psutil.Error:
            pass
    rows.sort(reverse=True)
    return [f"{cpu:5.1f}% {pid} {cmd}" for cpu, pid, cmd in rows[:limit] if cpu > 0]


class CpuAccount:
    """Where the machine's CPU went during a window: Daphne, this load generator, PostgreSQL and
    Redis (all of their processes, other users' included), and everything else (other engineers'
    test suites on the shared box)."""

    SERVICES = {"postgres": "postgresql", "redis-server": "redis"}

    def __init__(self, daphne: psutil.Process):
        self.daphne = daphne
        self.me = psutil.Process()

    @staticmethod
    def _cpu(proc: psutil.Process) -> float:
        times = proc.cpu_times()
        return times.user + times.system

    def _services(self) -> dict:
        found = {}
        for proc in psutil.process_iter(["name"]):
            label = self.SERVICES.get(proc.info["name"] or "")
            if label:
                try:
                    found[proc.pid] = (label, self._cpu(proc))
                except psutil.Error:
                    pass
        return found

    def start(self) -> None:
        self.t0 = time.perf_counter()
        self.system0 = psutil.cpu_times()
        self.daphne0, self.me0 = self._cpu(self.daphne), self._cpu(self.me)
        self.services0 = self._services()
        psutil.cpu_percent(percpu=True)

    def stop(self) -> dict:
        window = time.perf_counter() - self.t0
        per_core = psutil.cpu_percent(percpu=True)
        system = psutil.cpu_times()
        busy = sum(getattr(system, f) - getattr(self.system0, f)
                   for f in ("user", "system", "nice", "irq", "softirq", "steal"))
        daphne = self._cpu(self.daphne) - self.daphne0
        me = self._cpu(self.me) - self.me0
        services = collections.Counter()
        for pid, (label, cpu) in self._services().items():
            services[label] += cpu - self.services0.get(pid, (label, 0.0))[1]  # new backends: all of theirs
        other = busy - daphne - me - sum(services.values())
        return {"window_s": round(window, 1), "cores": psutil.cpu_count(),
                "cpu_seconds": {"daphne": round(daphne, 1), "load_generator": round(me, 1),
                                **{k: round(v, 1) for k, v in services.items()}, "everything_else": round(other, 1),
                                "whole_box_busy": round(busy, 1)},
                "daphne_core_busy_pct": round(100 * daphne / window, 1),
                "load_generator_core_busy_pct": round(100 * me / window, 1),
                "box_busy_pct_of_all_cores": round(100 * busy / window / psutil.cpu_count(), 1),
                "per_core_pct": per_core, "loadavg_end": [round(x, 2) for x in os.getloadavg()]}


def pin_self(core: int | None) -> None:
    if core is not None:
        os.sched_setaffinity(0, {core})


def raise_nofile(wanted: int) -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = min(hard, max(soft, wanted)) if hard != resource.RLIM_INFINITY else max(soft, wanted)
    resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return target


# --- database and data ---------------------------------------------------------------------

def database_url(name: str) -> str:
    base = PG_ADMIN.rsplit("/", 1)[0]
    return f"{base}/{name}"


def rebuild_database(name: str) -> None:
    import psycopg

    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,40}", name):
        raise SystemExit(f"unsafe database name {name!r}")
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def django_env(db_name: str, extra: dict | None = None) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("PROMETHEUS_MULTIPROC_DIR", "REDIS_SENTINELS")}
    env.update({
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "SECRET_KEY": "bench-realtime-not-a-secret",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DATABASE_URL": database_url(db_name),
        "REDIS_URL": REDIS_URL,
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    })
    env.update(extra or {})
    return env


def seed(db_name: str, rooms: int, room_size: int, sync_messages: int) -> dict:
    """Migrate and create users, tokens and rooms in a child process (this one stays free of Django)."""
    env = django_env(db_name)
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True,
                   timeout=300)
    out = subprocess.run([sys.executable, "-m", "loadtests.bench_realtime", "_seed", "--rooms", str(rooms),
                          "--room-size", str(room_size), "--sync-messages", str(sync_messages)],
                         cwd=ROOT, env=env, check=True, timeout=300, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _seed_in_django(rooms: int, room_size: int, sync_messages: int) -> None:
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    from chat import actions
    from chat.models import Membership, Room

    User = get_user_model()
    n_users = rooms * room_size + 1
    users = User.objects.bulk_create([User(username=f"rt{i}", password="!") for i in range(n_users)])
    tokens = Token.objects.bulk_create([Token(user=u, key=secrets.token_hex(20)) for u in users])
    token_of = {t.user_id: t.key for t in tokens}
    room_rows = Room.objects.bulk_create(
        [Room(kind="group", name=f"bench {r}", created_by=users[r * room_size]) for r in range(rooms + 1)])
    memberships, layout = [], []
    for r in range(rooms):
        members = users[r * room_size:(r + 1) * room_size]
        for i, user in enumerate(members):
            memberships.append(Membership(room=room_rows[r], user=user, role="owner" if i == 0 else "member"))
        layout.append({"room": room_rows[r].id,
                       "members": [{"user": u.id, "token": token_of[u.id]} for u in members]})
    sync_room, sync_user = room_rows[rooms], users[-1]
    memberships.append(Membership(room=sync_room, user=sync_user, role="owner"))
    Membership.objects.bulk_create(memberships)
    actions.import_messages(sync_room.id, [(sync_user.id, f"{CONTENT} #{i}") for i in range(sync_messages)])
    print(json.dumps({"rooms": layout, "sync": {"room": sync_room.id, "user": sync_user.id,
                                                "token": token_of[sync_user.id], "last_seq": sync_messages}}))


# --- the server under test -----------------------------------------------------------------

@dataclass
class Server:
    process: Process
    port: int
    prefix: str
    psutil_proc: psutil.Process
    layer: str = "core"
    profiler: subprocess.Popen | None = None

    @property
    def ws_base(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def metrics(self) -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics", timeout=10) as resp:
            return resp.read().decode()

    def cpu_seconds(self) -> float:
        times = self.psutil_proc.cpu_times()
        return times.user + times.system

    def rss(self) -> int:
        return self.psutil_proc.memory_info().rss


def start_server(db_name: str, layer: str, core: int | None, extra_env: dict | None = None) -> Server:
    port = free_port()
    prefix = f"bench-rt-{uuid.uuid4().hex[:8]}"
    env = django_env(db_name, {"CHANNEL_LAYER_BACKEND": layer, "CHANNEL_LAYER_PREFIX": prefix,
                               "REDIS_KEY_PREFIX": prefix, **(extra_env or {})})
    args = [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "--ping-interval", "20",
            "--ping-timeout", "30", "--websocket-max-message-size", "1048576", "--proxy-headers",
            "config.asgi:application"]
    if core is not None:
        args = ["taskset", "-c", str(core), *args]  # taskset execs: the pid stays Daphne's
    proc = Process(args, port, env, log_name="bench-daphne").wait_ready(60)
    server = Server(proc, port, prefix, psutil.Process(proc.proc.pid), layer)
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10):
        pass
    return server


def stop_server(server: Server | None) -> None:
    if server is None:
        return
    if server.profiler is not None and server.profiler.poll() is None:
        server.profiler.send_signal(signal.SIGINT)
        try:
            server.profiler.wait(30)
        except subprocess.TimeoutExpired:
            server.profiler.kill()
    server.process.terminate()
    _forget_redis_keys(server.prefix)


def _forget_redis_keys(prefix: str) -> None:
    """Delete this run's Redis keys (its prefix only; SCAN is bounded by the key count)."""
    import redis

    try:
        client = redis.Redis.from_url(REDIS_URL, socket_timeout=5)
        for pattern in (f"{prefix}*", f"*{prefix}*"):
            batch = []
            for i, key in enumerate(client.scan_iter(match=pattern, count=1000)):
                batch.append(key)
                if len(batch) >= 500:
                    client.delete(*batch)
                    batch = []
                if i > 2_000_000:
                    break
            if batch:
                client.delete(*batch)
        client.close()
    except Exception as exc:  # noqa: BLE001 - cleanup is best effort
        print(f"  (redis cleanup of {prefix}: {exc})")


def start_profiler(server: Server, seconds: int, out: Path) -> None:
    py_spy = Path(sys.executable).with_name("py-spy")
    if not py_spy.exists():
        print("  py-spy is not installed (.venv/bin/pip install py-spy): no profile")
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    server.profiler = subprocess.Popen(
        [str(py_spy), "record", "--pid", str(server.psutil_proc.pid), "--duration", str(seconds), "--rate", "100",
         "--nonblocking", "--gil", "--format", "raw", "--output", str(out)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


# --- /metrics histograms -------------------------------------------------------------------

def histogram(text: str, name: str) -> dict:
    buckets, total, count = {}, 0.0, 0.0
    for line in text.splitlines():
        if line.startswith(f"{name}_bucket"):
            le = re.search(r'le="([^"]+)"', line).group(1)
            buckets[float("inf") if le == "+Inf" else float(le)] = float(line.rsplit(" ", 1)[1])
        elif line.startswith(f"{name}_sum"):
            total = float(line.rsplit(" ", 1)[1])
        elif line.startswith(f"{name}_count"):
            count = float(line.rsplit(" ", 1)[1])
    return {"buckets": buckets, "sum": total, "count": count}


def histogram_delta(before: dict, after: dict) -> dict:
    buckets = {le: after["buckets"][le] - before["buckets"].get(le, 0.0) for le in after["buckets"]}
    return {"buckets": buckets, "sum": after["sum"] - before["sum"], "count": after["count"] - before["count"]}


def histogram_quantile(h: dict, q: float) -> float | None:
    """Prometheus-style: linear interpolation inside the bucket that holds the q-th observation."""
    if not h["count"]:
        return None
    rank, previous_le, previous_count = q * h["count"], 0.0, 0.0
    for le in sorted(h["buckets"]):
        cumulative = h["buckets"][le]
        if cumulative >= rank:
            if le == float("inf"):
                return previous_le
            width = cumulative - previous_count
            return previous_le + (le - previous_le) * ((rank - previous_count) / width if width else 1.0)
        previous_le, previous_count = le, cumulative
    return None


def histogram_report(h: dict) -> dict:
    out = {"count": int(h["count"]), "mean_ms": round(h["sum"] / h["count"] * 1000, 2) if h["count"] else None}
    for q in (0.5, 0.95, 0.99):
        value = histogram_quantile(h, q)
        out[f"p{int(q * 100)}_ms_est"] = None if value is None else round(value * 1000, 2)
    return out


# --- clients -------------------------------------------------------------------------------

async def open_socket(url: str, timeout: float = 15.0):
    ws = await ws_connect(url, open_timeout=timeout, ping_interval=None, close_timeout=2, compression=None,
                          max_size=4 * 1024 * 1024, max_queue=None)
    first = orjson.loads(await asyncio.wait_for(ws.recv(), timeout))
    if first.get("type") != "connection_established":
        await ws.close()
        raise RuntimeError(f"expected connection_established, got {first}")
    return ws, first


@dataclass
class Member:
    room: int
    user: int
    token: str
    ws: object = None
    seqs: list = field(default_factory=list)
    reader: asyncio.Task | None = None


@dataclass
class FanoutStats:
    sent_at: dict = field(default_factory=dict)
    confirm: list = field(default_factory=list)
    deliver: list = field(default_factory=list)
    confirm_at: list = field(default_factory=list)
    deliver_at: list = field(default_factory=list)
    confirmed_seq: dict = field(default_factory=lambda: collections.defaultdict(set))
    frames: collections.Counter = field(default_factory=collections.Counter)
    errors: list = field(default_factory=list)
    last_delivery: float = 0.0


async def _read_member(member: Member, stats: FanoutStats) -> None:
    try:
        async for raw in member.ws:
            now = time.perf_counter()
            frame = orjson.loads(raw)
            kind = frame.get("type")
            stats.frames[kind] += 1
            if kind == "message_new":
                message = frame["message"]
                sent = stats.sent_at.get(message.get("temp_id"))
                if sent is not None:
                    stats.deliver.append(now - sent)
                    stats.deliver_at.append(sent)
                member.seqs.append(message["seq"])
                stats.last_delivery = now
            elif kind == "message_confirmed":
                message = frame["message"]
                sent = stats.sent_at.get(frame["temp_id"])
                if sent is not None:
                    stats.confirm.append(now - sent)
                    stats.confirm_at.append(sent)
                member.seqs.append(message["seq"])
                stats.confirmed_seq[member.room].add(message["seq"])
            elif kind in ("error", "message_failed"):
                if len(stats.errors) < 20:
                    stats.errors.append(frame)
    except websockets.ConnectionClosed as exc:
        if len(stats.errors) < 20:
            stats.errors.append({"closed": str(exc), "user": member.user})


async def connect_all(urls: list[str], concurrency: int, timeout: float = 15.0,
                      stop_after_failures: int = 50) -> tuple[list, list[float], list[str], float]:
    """Open sockets with at most `concurrency` handshakes in flight; returns (sockets, connect
    latencies, errors, elapsed). Stops early after `stop_after_failures` failures."""
    sockets: list = [None] * len(urls)
    latencies: list[float] = []
    errors: list[str] = []
    semaphore = asyncio.Semaphore(concurrency)
    stop = asyncio.Event()

    async def one(i: int, url: str) -> None:
        if stop.is_set():
            return
        async with semaphore:
            if stop.is_set():
                return
            started = time.perf_counter()
            try:
                sockets[i] = (await open_socket(url, timeout))[0]
                latencies.append(time.perf_counter() - started)
            except Exception as exc:  # noqa: BLE001 - counted and reported
                errors.append(f"{type(exc).__name__}: {exc}"[:200])
                if len(errors) >= stop_after_failures:
                    stop.set()

    started = time.perf_counter()
    await asyncio.gather(*(one(i, url) for i, url in enumerate(urls)))
    return sockets, latencies, errors, time.perf_counter() - started


async def close_all(sockets, concurrency: int = 200) -> None:
    semaphore = asyncio.Semaphore(concurrency)

    async def one(ws):
        async with semaphore:
            try:
                await asyncio.wait_for(ws.close(), 5)
            except Exception:  # noqa: BLE001
                pass

    await asyncio.gather(*(one(ws) for ws in sockets if ws is not None))


# --- phase: fan-out under send load --------------------------------------------------------

async def run_fanout(server: Server, data: dict, args) -> dict:
    members = [Member(room["room"], m["user"], m["token"]) for room in data["rooms"] for m in room["members"]]
    by_room = collections.defaultdict(list)
    for member in members:
        by_room[member.room].append(member)
    urls = [f"{server.ws_base}/ws/chat/{m.room}/?token={m.token}" for m in members]
    sockets, connect_lat, errors, _ = await connect_all(urls, concurrency=50)
    if errors:
        await close_all(sockets)
        raise RuntimeError(f"fanout: {len(errors)} sockets failed to open: {errors[:3]}")
    stats = FanoutStats()
    for member, ws in zip(members, sockets):
        member.ws = ws
        member.reader = asyncio.create_task(_read_member(member, stats))
    await asyncio.sleep(1.0)  # presence frames of the connect burst settle

    # Senders in a fixed order: round-robin over rooms, and within a room over its members.
    rooms = list(by_room)
    order = [by_room[rooms[i % len(rooms)]][(i // len(rooms)) % args.room_size]
             for i in range(len(rooms) * args.room_size)]
    total = int(args.rate * args.duration)
    run_id = uuid.uuid4().hex[:8]
    metrics_before = server.metrics()
    account = CpuAccount(server.psutil_proc)
    account.start()
    if args.profile:
        start_profiler(server, max(5, int(args.duration) - 2), Path(f"{args.profile}-{server.layer}.txt"))
    loop = asyncio.get_running_loop()
    start = loop.time()
    wall_start = time.perf_counter()
    progress = asyncio.create_task(_progress(stats, wall_start, total, args.room_size - 1))
    max_lag = 0.0
    for i in range(total):
        target = start + i / args.rate
        delay = target - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        else:
            max_lag = max(max_lag, -delay)
        member = order[i % len(order)]
        temp_id = f"{run_id}-{i}"  # unique per run: a reused temp_id is (rightly) a retry, not a new message
        stats.sent_at[temp_id] = time.perf_counter()
        try:
            await member.ws.send(orjson.dumps({"type": "message_send", "content": CONTENT, "temp_id": temp_id}).decode())
        except websockets.ConnectionClosed:
            stats.frames["send_on_closed"] += 1
    send_window = time.perf_counter() - wall_start
    # Drain: wait until every confirmation and delivery is in, or 15 s.
    expected_deliveries = total * (args.room_size - 1)
    drain_deadline = time.perf_counter() + 15
    while time.perf_counter() < drain_deadline:
        if len(stats.confirm) >= total and len(stats.deliver) >= expected_deliveries:
            break
        await asyncio.sleep(0.1)
    drain = time.perf_counter() - wall_start - send_window
    progress.cancel()
    cpu = account.stop()
    metrics_after = server.metrics()

    # Loss and duplicates, by seq, at every member; then recovery of gaps by sync_request.
    lost = dup = 0
    gap_members: list[tuple[Member, set]] = []
    for member in members:
        confirmed = stats.confirmed_seq[member.room]
        expected = set(range(min(confirmed), max(confirmed) + 1)) if confirmed else set()
        counts = collections.Counter(member.seqs)
        dup += sum(c - 1 for c in counts.values() if c > 1)
        missing = expected - set(counts)
        if missing:
            lost += len(missing)
            gap_members.append((member, missing))
    confirmed_gapless = all(s == set(range(min(s), max(s) + 1)) for s in stats.confirmed_seq.values() if s)
    for member in members:
        member.reader.cancel()
    await asyncio.gather(*(m.reader for m in members), return_exceptions=True)
    recovered, sync_failures = 0, []
    await asyncio.sleep(2)  # a backlog still in flight must not be mistaken for the sync answer
    semaphore = asyncio.Semaphore(20)

    async def recover(member: Member, missing: set) -> None:
        nonlocal recovered
        async with semaphore:
            try:
                if await _sync_fill(member, min(missing) - 1, missing):
                    recovered += 1
            except Exception as exc:  # noqa: BLE001 - reported, the run goes on
                sync_failures.append(f"{type(exc).__name__}: {exc}"[:200])

    try:
        await asyncio.wait_for(asyncio.gather(*(recover(m, miss) for m, miss in gap_members)), 90)
    except asyncio.TimeoutError:
        sync_failures.append("recovery by sync_request did not finish within 90 s")
    await close_all([m.ws for m in members])

    send_h = histogram_report(histogram_delta(histogram(metrics_before, "chat_message_send_seconds"),
                                              histogram(metrics_after, "chat_message_send_seconds")))
    fan_h = histogram_report(histogram_delta(histogram(metrics_before, "chat_message_fanout_seconds"),
                                             histogram(metrics_after, "chat_message_fanout_seconds")))
    return {
        "sockets": len(members), "sends_scheduled": total, "send_window_s": round(send_window, 2),
        "max_schedule_lag_ms": round(max_lag * 1000, 1),
        "confirmed": len(stats.confirm), "deliveries": len(stats.deliver), "deliveries_expected": expected_deliveries,
        "throughput_confirmed_per_s": round(len(stats.confirm) / send_window, 1),
        "throughput_deliveries_per_s": round(len(stats.deliver) / send_window, 1),
        "drain_s": round(drain, 2),
        "send_to_confirmed_ms": summary_ms(stats.confirm),
        "send_to_message_new_ms": summary_ms(stats.deliver),
        "timeline_p99_ms": _timeline(stats, wall_start, 5.0),
        "server_chat_message_send_seconds": send_h,
        "server_chat_message_fanout_seconds": fan_h,
        "lost": lost, "duplicated": dup, "confirmed_seqs_gapless": confirmed_gapless,
        "members_needing_sync": len(gap_members), "members_recovered_by_sync": recovered,
        "sync_failures": sync_failures[:5], "lost_by_room_sample": sorted(len(m) for _, m in gap_members)[-5:],
        "frames": dict(stats.frames), "errors": stats.errors[:5],
        "cpu": cpu,
    }


def _timeline(stats: FanoutStats, wall_start: float, step: float) -> list[str]:
    """p99 of confirm / message_new by the second the message was sent, in `step` windows:
    a sustained queue and a short stall look different here."""
    windows: dict = collections.defaultdict(lambda: ([], []))
    for sent, lat in zip(stats.confirm_at, stats.confirm):
        windows[int((sent - wall_start) // step)][0].append(lat)
    for sent, lat in zip(stats.deliver_at, stats.deliver):
        windows[int((sent - wall_start) // step)][1].append(lat)
    return [f"{k * step:.0f}-{(k + 1) * step:.0f}s confirm p99 {ms(pct(c, 99))} new p99 {ms(pct(d, 99))}"
            for k, (c, d) in sorted(windows.items())]


async def _progress(stats: FanoutStats, wall_start: float, total: int, receivers: int) -> None:
    while True:
        await asyncio.sleep(10)
        recent_c, recent_d = stats.confirm[-2000:], stats.deliver[-18000:]
        print(f"    t={time.perf_counter() - wall_start:5.1f}s sent {len(stats.sent_at)}/{total} "
              f"confirmed {len(stats.confirm)} delivered {len(stats.deliver)}/{len(stats.sent_at) * receivers}  "
              f"recent p99 confirm {ms(pct(recent_c, 99))} new {ms(pct(recent_d, 99))}", flush=True)


async def _sync_fill(member: Member, last_seq: int, missing: set) -> bool:
    """Ask for everything after last_seq (paged by has_more); True when every missing seq came."""
    got: set = set()
    for _ in range(50):  # bounded paging
        await member.ws.send(orjson.dumps({"type": "sync_request", "last_seq": last_seq}).decode())
        while True:
            frame = orjson.loads(await asyncio.wait_for(member.ws.recv(), 30))
            if frame.get("type") == "sync_response":
                break
        seqs = [m["seq"] for m in frame["messages"]]
        got.update(seqs)
        if not frame.get("has_more") or not seqs:
            break
        last_seq = max(seqs)
    return missing <= got


def _self_cpu() -> float:
    times = psutil.Process().cpu_times()
    return times.user + times.system


# --- phase: idle sockets -------------------------------------------------------------------

async def run_idle(server: Server, data: dict, args) -> dict:
    members = [m | {"room": room["room"]} for room in data["rooms"] for m in room["members"]]
    urls = [f"{server.ws_base}/ws/chat/{members[i % len(members)]['room']}/?token={members[i % len(members)]['token']}"
            for i in range(args.idle)]
    warm, _, warm_errors, _ = await connect_all(urls[:20], concurrency=10)
    await asyncio.sleep(2)
    rss_before = server.rss()
    cpu0 = server.cpu_seconds()
    account = CpuAccount(server.psutil_proc)
    account.start()
    if args.profile:
        start_profiler(server, 15, Path(f"{args.profile}-idle-{server.layer}.txt"))
    sockets, latencies, errors, elapsed = await connect_all(urls[20:], concurrency=args.idle_concurrency,
                                                            stop_after_failures=200)
    cpu_connect = server.cpu_seconds() - cpu0
    connect_cpu = account.stop()
    opened = [ws for ws in sockets if ws is not None]
    await asyncio.sleep(5)  # let the accept work and heartbeats settle
    rss_after = server.rss()
    # Still alive? A ping on a sample must come back as pong.
    sample = opened[:: max(1, len(opened) // 100)][:100]
    alive = 0
    for ws in sample:
        try:
            await ws.send('{"type":"ping"}')
            while True:
                frame = orjson.loads(await asyncio.wait_for(ws.recv(), 10))
                if frame.get("type") == "pong":
                    alive += 1
                    break
        except Exception:  # noqa: BLE001
            pass
    open_fds = server.psutil_proc.num_fds()
    await close_all(opened + [w for w in warm if w is not None])
    n = len(opened)
    return {
        "target": args.idle, "opened": n + len([w for w in warm if w]), "failed": len(errors),
        "first_errors": sorted(collections.Counter(errors).items(), key=lambda kv: -kv[1])[:5],
        "connect_concurrency": args.idle_concurrency,
        "connects_per_s": round(n / elapsed, 1) if elapsed else None, "connect_elapsed_s": round(elapsed, 2),
        "connect_latency_ms": summary_ms(latencies),
        "daphne_cpu_s_during_connects": round(cpu_connect, 1), "cpu_during_connects": connect_cpu,
        "rss_before_mb": round(rss_before / 2**20, 1), "rss_after_mb": round(rss_after / 2**20, 1),
        "rss_per_connection_kb": round((rss_after - rss_before) / n / 1024, 1) if n else None,
        "daphne_open_fds": open_fds, "ping_sample": len(sample), "ping_sample_alive": alive,
    }


# --- phase: delta sync ---------------------------------------------------------------------

async def run_sync(server: Server, data: dict, args) -> dict:
    sync = data["sync"]
    # One request at a time (an idle server), spread over several sockets of the same user and
    # paced, so no socket runs into the per-connection rate limit (20 frames/s by default).
    url = f"{server.ws_base}/ws/chat/{sync['room']}/?token={sync['token']}"
    sockets = [(await open_socket(url))[0] for _ in range(SYNC_SOCKETS)]
    last_seq = sync["last_seq"] - args.sync_missed
    frame = orjson.dumps({"type": "sync_request", "last_seq": last_seq}).decode()
    for i in range(10):  # warm-up (connections, caches)
        await sockets[i % SYNC_SOCKETS].send(frame)
        await _until(sockets[i % SYNC_SOCKETS], "sync_response")
        await asyncio.sleep(SYNC_PACE_S)
    before = server.metrics()
    account = CpuAccount(server.psutil_proc)
    account.start()
    round_trips, sizes = [], set()
    for i in range(args.sync_reps):
        ws = sockets[i % SYNC_SOCKETS]
        started = time.perf_counter()
        await ws.send(frame)
        answer = await _until(ws, "sync_response")
        round_trips.append(time.perf_counter() - started)
        sizes.add(len(answer["messages"]))
        await asyncio.sleep(max(0.0, SYNC_PACE_S - (time.perf_counter() - started)))
    after = server.metrics()
    await close_all(sockets)
    return {"missed": args.sync_missed, "reps": args.sync_reps, "messages_per_response": sorted(sizes),
            "client_round_trip_ms": summary_ms(round_trips), "cpu": account.stop(),
            "server_chat_sync_seconds": histogram_report(histogram_delta(histogram(before, "chat_sync_seconds"),
                                                                         histogram(after, "chat_sync_seconds")))}


SYNC_SOCKETS = 8
SYNC_PACE_S = 0.015


async def _until(ws, kind: str, timeout: float = 10.0) -> dict:
    deadline = time.perf_counter() + timeout
    while True:
        frame = orjson.loads(await asyncio.wait_for(ws.recv(), max(0.01, deadline - time.perf_counter())))
        if frame.get("type") == kind:
            return frame
        if frame.get("type") == "error":
            raise RuntimeError(f"waiting for {kind}, the server answered {frame}")


# --- main ----------------------------------------------------------------------------------

def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", nargs="?", default="run", choices=["run", "_seed"])
    parser.add_argument("--phase", default="fanout,idle,sync", help="comma list of fanout, idle, sync")
    parser.add_argument("--layer", default="core", choices=["core", "pubsub", "both"],
                        help="CHANNEL_LAYER_BACKEND for the fanout phase ('both' runs it twice)")
    parser.add_argument("--rate", type=float, default=200.0, help="sends per second, all rooms together")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of sending")
    parser.add_argument("--rooms", type=int, default=30)
    parser.add_argument("--room-size", type=int, default=10)
    parser.add_argument("--idle", type=int, default=10_000, help="idle sockets to open")
    parser.add_argument("--idle-concurrency", type=int, default=100, help="handshakes in flight")
    parser.add_argument("--idle-layer", default="core", choices=["core", "pubsub"])
    parser.add_argument("--sync-missed", type=int, default=200)
    parser.add_argument("--sync-messages", type=int, default=1000, help="messages in the sync room")
    parser.add_argument("--sync-reps", type=int, default=300)
    parser.add_argument("--server-core", type=int, default=0)
    parser.add_argument("--client-core", type=int, default=1)
    parser.add_argument("--no-pin", action="store_true", help="do not pin Daphne and the load generator")
    parser.add_argument("--db", default="chat_bench_rt")
    parser.add_argument("--profile", default=None, help="py-spy raw (collapsed stacks) output path prefix for the fanout phase (-<layer>.txt is added)")
    parser.add_argument("--json", default=None, help="write the results here as JSON")
    parser.add_argument("--server-env", action="append", default=[], help="KEY=VALUE for Daphne (repeatable)")
    return parser.parse_args(argv)


def _terminate_on_sigterm() -> None:
    """SIGTERM and SIGINT both end the run through the cleanup path (SIGINT explicitly: a shell
    that starts us in the background hands us SIGINT ignored)."""
    def handler(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, signal.default_int_handler)


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.command == "_seed":
        _seed_in_django(args.rooms, args.room_size, args.sync_messages)
        return 0
    _terminate_on_sigterm()
    phases = [p.strip() for p in args.phase.split(",") if p.strip()]
    server_core = None if args.no_pin else args.server_core
    client_core = None if args.no_pin else args.client_core
    nofile = raise_nofile(max(4096, args.idle + 2000))
    pin_self(client_core)
    extra_env = dict(kv.split("=", 1) for kv in args.server_env)
    results: dict = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join([".venv/bin/python -m loadtests.bench_realtime", *sys.argv[1:]]),
        "core_split": ("unpinned" if args.no_pin else
                       f"Daphne on core {server_core} (taskset), load generator on core {client_core}; "
                       "PostgreSQL and Redis unpinned (shared services)"),
        "nofile_limit": nofile, "server_env": extra_env,
        "config": {k: getattr(args, k) for k in ("rate", "duration", "rooms", "room_size", "idle",
                                                  "idle_concurrency", "sync_missed", "sync_reps")},
        "box_before": box_load(), "busiest_processes_before": others_cpu_top(),
    }
    print(f"bench-realtime {results['date']}  {results['core_split']}")
    print(f"  box before: load {results['box_before']['loadavg']}  cores {results['box_before']['cpu_percent_per_core']}")
    print("  setting up database", args.db)
    rebuild_database(args.db)
    data = seed(args.db, args.rooms, args.room_size, args.sync_messages)
    layers = ["core", "pubsub"] if args.layer == "both" else [args.layer]
    server = None
    try:
        if "fanout" in phases:
            for layer in layers:
                print(f"  fanout: layer={layer} rate={args.rate}/s duration={args.duration}s "
                      f"rooms={args.rooms}x{args.room_size}")
                server = start_server(args.db, layer, server_core, extra_env)
                result = asyncio.run(run_fanout(server, data, args))
                result["box_after"] = box_load()
                results[f"fanout_{layer}"] = result
                stop_server(server)
                server = None
                _print_fanout(layer, result)
        if "sync" in phases:
            server = start_server(args.db, args.idle_layer, server_core, extra_env)
            results["sync"] = asyncio.run(run_sync(server, data, args))
            stop_server(server)
            server = None
            print(f"  sync: {json.dumps(results['sync'])}")
        if "idle" in phases:
            server = start_server(args.db, args.idle_layer, server_core, extra_env)
            results["idle"] = asyncio.run(run_idle(server, data, args))
            results["idle"]["layer"] = args.idle_layer
            stop_server(server)
            server = None
            print(f"  idle: {json.dumps(results['idle'])}")
    except KeyboardInterrupt:
        print("  interrupted: stopping the server")
        return 130
    finally:
        stop_server(server)
        results["box_after"] = box_load()
        results["busiest_processes_after"] = others_cpu_top()
        out = Path(args.json) if args.json else ROOT / "var" / "bench" / f"realtime-{int(time.time())}.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(results, indent=2, ensure_ascii=False))
        print(f"  results: {out}")
        print(f"  box after: load {results['box_after']['loadavg']}")
    return 0


def _print_fanout(layer: str, r: dict) -> None:
    c, d = r["send_to_confirmed_ms"], r["send_to_message_new_ms"]
    print(f"  [{layer}] confirmed {r['confirmed']}/{r['sends_scheduled']} ({r['throughput_confirmed_per_s']}/s), "
          f"deliveries {r['deliveries']}/{r['deliveries_expected']}")
    print(f"  [{layer}] send->confirmed p50 {c['p50']} p95 {c['p95']} p99 {c['p99']} ms; "
          f"send->message_new p50 {d['p50']} p95 {d['p95']} p99 {d['p99']} ms")
    print(f"  [{layer}] lost {r['lost']} duplicated {r['duplicated']} needing sync {r['members_needing_sync']} "
          f"(recovered {r['members_recovered_by_sync']})")
    print(f"  [{layer}] cpu {r['cpu']}")


if __name__ == "__main__":
    sys.exit(main())

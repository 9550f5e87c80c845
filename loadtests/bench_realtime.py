"""`make bench-realtime`: the WebSocket budgets (docs/benchmarks.md) against real ws processes.

Scenarios (--scenario, a comma list; each runs --repeat times with the box load recorded around it):

  rooms     --rooms rooms of --room-size members (20 x 10), --rate sends/s (200) for --duration s,
            members spread round-robin over --ws-processes Daphnes (1)
  big-room  one room of --big-room members (2,000) over --ws-processes (2), --rate 5 messages/s
  failover  rooms as above at 100 sends/s over 2 ws processes on a Redis Sentinel cluster the
            bench starts; its master is killed (-9) halfway through the sends
  idle      --idle sockets (10,000) opened --idle-concurrency at a time and held on one Daphne
  sync      --sync-reps delta syncs of --sync-missed messages on an idle Daphne

Every member is harness.member.Member, the client that behaves like the web app (reconnects,
syncs on a seq gap or a `resync` frame). A fan-out run reports send -> message_confirmed and
send -> message_new p50/p95/p99, deliveries lost live (never delivered by a live frame),
duplicates, members that needed a client sync, ws CPU seconds per delivery (all ws processes /
deliveries) and the deltas of the ws processes' /metrics (repairs, resync signals; absent
metrics read 0); failover adds how long until every member had every message. --noise starts a
process keeping one ws core ~50 % busy (50 ms spin, 50 ms sleep). ws processes run on
--ws-cores, this load generator on --client-cores (taskset); PostgreSQL and Redis are the shared
services, unpinned. Its database (--db) is rebuilt per invocation; its Redis keys carry a unique
prefix and are deleted after each run. Everything it starts is stopped by its pid.

    .venv/bin/python -m loadtests.bench_realtime --scenario rooms --repeat 3
    .venv/bin/python -m loadtests.bench_realtime --scenario rooms --ws-processes 2 --noise
    .venv/bin/python -m loadtests.bench_realtime --scenario big-room,failover --duration 30
    .venv/bin/python -m loadtests.bench_realtime --scenario idle,sync
"""
import argparse
import asyncio
import collections
import contextlib
import gc
import json
import os
import resource
import signal
import sys
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import orjson
import psutil

from harness import clients, processes, seeding
from harness.cpu import CpuAccount, box_load, busiest, cpu_seconds
from harness.disk import FsyncProbe
from harness.member import Member, confirmed_by_room, start, stop, tally
from harness.metrics import Scrape
from harness.stats import summary_ms

REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
DEFAULTS = {"rooms": (200.0, 1), "big-room": (5.0, 2), "failover": (100.0, 2), "idle": (0, 1), "sync": (0, 1)}
IDLE_HOLD_S = 10.0  # seconds the idle sockets are held, none sending, for their CPU cost
SYNC_SOCKETS, SYNC_PACE_S = 8, 0.015  # spread and paced: no socket meets the per-connection rate limit
# Production answers /metrics only to this bearer; harness.metrics.Scrape sends it.
os.environ.setdefault("METRICS_TOKEN", uuid.uuid4().hex)


def server_env(args, db: str, prefix: str, redis_env: dict | None) -> dict:
    env = {"DJANGO_SETTINGS_MODULE": "config.settings.production", "SECRET_KEY": "bench-realtime-not-a-secret",
           "ALLOWED_HOSTS": "127.0.0.1,localhost", "DATABASE_URL": seeding.database_url(db),
           "REDIS_URL": REDIS_URL, "REDIS_SENTINELS": None, "PROMETHEUS_MULTIPROC_DIR": None,
           "REDIS_KEY_PREFIX": prefix, "LOG_LEVEL": "WARNING", "METRICS_TOKEN": os.environ["METRICS_TOKEN"],
           # the idle scenario opens 10,000 sockets with the tokens of a few hundred users
           "CHAT_WS_MAX_SOCKETS_PER_USER": "1000000",
           "PYTHONUNBUFFERED": "1"}
    return {**env, **(redis_env or {}), **dict(kv.split("=", 1) for kv in args.server_env)}


# --- fan-out under send load (rooms, big-room, failover) -----------------------------------

async def fanout(servers, rooms: list[dict], rate: float, args, cluster=None) -> dict:
    sent_at: dict[str, float] = {}
    confirm, deliver = [], []

    def on_message(kind: str, frame: dict, now: float) -> None:
        temp_id = frame["message"].get("temp_id") if kind == "message_new" else frame["temp_id"]
        if temp_id in sent_at:
            (deliver if kind == "message_new" else confirm).append(now - sent_at[temp_id])

    members = [Member(f"u{m['user']}", room["room"], [clients.ws_url(s.port, m["token"]) for s in servers],
                      home=i % len(servers), on_message=on_message)
               for i, (room, m) in enumerate((room, m) for room in rooms for m in room["members"])]
    runners = await start(members, timeout=60)
    try:
        # Every member has caught up (its connect's sync, all pages) before the window opens: a
        # later run of one invocation finds hundreds of messages per room from the runs before,
        # and 200 catch-ups overlapping the first sends measured the sync storm, not the fan-out.
        await asyncio.wait_for(asyncio.gather(*(m.synced.wait() for m in members)), 120)
        await asyncio.sleep(2.0)  # the presence frames of the connect burst settle
        before = [Scrape.of(s.url) for s in servers]
        account = CpuAccount({"ws": [psutil.Process(s.pid) for s in servers]}).start()
        disk = FsyncProbe(str(processes.ROOT / "var" / "bench")).start()
        with generator_gc_off():
            sending = await send_on_schedule(senders(members), rate, args.duration, sent_at, cluster)
        room_size = collections.Counter(m.room_id for m in members)
        expected = sum(len(m.confirmed) * (room_size[m.room_id] - 1) for m in members)
        drain_until = time.monotonic() + 15
        with generator_gc_off():
            while len(deliver) < expected and time.monotonic() < drain_until:
                await asyncio.sleep(0.1)
        cpu, fsync = account.stop(), disk.stop()
        delta = Scrape.total(Scrape.of(s.url) for s in servers) - Scrape.total(before)
        result = {"sockets": len(members), "ws_processes": len(servers), "sends": sending["sends"],
                  "send_window_s": sending["window_s"], "max_schedule_lag_ms": sending["max_lag_ms"],
                  "confirmed": sum(len(m.confirmed) for m in members), "deliveries": len(deliver),
                  "deliveries_expected": expected,
                  "send_to_confirmed_ms": summary_ms(confirm), "send_to_message_new_ms": summary_ms(deliver),
                  **tally(members),
                  "ws_cpu_us_per_delivery": round(cpu["cpu_seconds"]["ws"] / len(deliver) * 1e6, 1)
                  if deliver else None,
                  "server": server_deltas(delta), "cpu": cpu, "disk_fsync": fsync}
        if cluster is not None:
            killed_at = sending["killed_at"]
            promoted = (await asyncio.gather(sending["promotion"], return_exceptions=True))[0]
            result["failover"] = {"promoted_after_kill_s": round(promoted - killed_at, 2)
                                  if isinstance(promoted, float) else repr(promoted),
                                  "every_member_had_every_message_after_kill_s":
                                  await _everyone_has_everything(members, killed_at)}
        return result
    finally:
        await stop(members, runners)


@contextlib.contextmanager
def generator_gc_off():
    """This load generator's own garbage collector is off while it measures: a full collection
    of its bookkeeping (every send and delivery of the run) stalls it for tens of milliseconds,
    and that would be counted as the server's latency. The run's objects are freed after."""
    gc.collect()
    gc.freeze()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.unfreeze()


def senders(members: list[Member]) -> list[Member]:
    """Who sends next: round-robin over the rooms, and within a room over its members."""
    by_room = collections.defaultdict(list)
    for m in members:
        by_room[m.room_id].append(m)
    rooms = list(by_room.values())
    return [rooms[k % len(rooms)][(k // len(rooms)) % len(rooms[k % len(rooms)])]
            for k in range(len(rooms) * max(map(len, rooms)))]


async def send_on_schedule(order: list[Member], rate: float, duration: float, sent_at: dict, cluster) -> dict:
    """`rate` sends a second for `duration` s, each a task of its member (which waits for the
    confirmation and retries like the web app); with a cluster its master is killed halfway."""
    loop = asyncio.get_running_loop()
    total, run_id, tasks = int(rate * duration), uuid.uuid4().hex[:8], []
    out = {"sends": total, "killed_at": None, "promotion": None}
    t0, max_lag = loop.time(), 0.0
    for k in range(total):
        delay = t0 + k / rate - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        max_lag = max(max_lag, -delay)
        if cluster is not None and k == total // 2:
            out["killed_at"] = time.monotonic()
            await asyncio.to_thread(cluster.master.kill)  # kill -9
            out["promotion"] = asyncio.create_task(asyncio.to_thread(cluster.wait_promoted, 30))
        temp_id = f"{run_id}-{k}"  # unique per run: a reused temp_id is (rightly) a retry
        sent_at[temp_id] = time.monotonic()
        tasks.append(asyncio.create_task(order[k % len(order)].send(temp_id, seeding.CONTENT)))
    out.update(window_s=round(loop.time() - t0, 2), max_lag_ms=round(max_lag * 1000, 1))
    await asyncio.wait(tasks, timeout=90)
    return out


def server_deltas(delta: Scrape) -> dict:
    """What the ws processes say happened during the run (their /metrics, summed)."""
    return {"repairs": delta.by_label("chat_fanout_repairs_total", "what"),
            "resync_signals": delta.by_label("chat_fanout_resync_signals_total", "reason"),
            "fanout_deliveries": delta.value("chat_fanout_deliveries_total"),
            "subscription_reconnects": delta.value("chat_fanout_subscription_reconnects_total"),
            "chat_message_send_seconds": delta.histogram("chat_message_send_seconds"),
            "chat_message_fanout_seconds": delta.histogram("chat_message_fanout_seconds"),
            "send_room_turn": delta.histogram("chat_db_send_seconds", what="room_turn"),
            "send_pool_wait": delta.histogram("chat_db_send_seconds", what="pool_wait"),
            "send_statement": delta.histogram("chat_db_send_seconds", what="statement"),
            "send_pool_busy": delta.value("chat_db_send_pool_busy_total"),
            "send_pool_timeouts": delta.value("chat_db_send_pool_timeouts_total"),
            "confirmations_held": delta.by_label("chat_ws_confirmations_held_total", "result"),
            "gc_pauses": gc_pauses(delta),
            "loop_lag": delta.histogram("chat_ws_loop_lag_seconds"),
            "loop_stalls": delta.value("chat_ws_loop_stalls_total")}


def gc_pauses(delta: Scrape) -> dict:
    """Collections per generation, and those that held the process over 100 ms: a stall on the
    server's own clock that the latency tail can be checked against."""
    out = {}
    for generation in ("0", "1", "2"):
        count = delta.value("chat_gc_pause_seconds_count", generation=generation)
        under = delta.value("chat_gc_pause_seconds_bucket", generation=generation, le="0.1")
        out[generation] = {"collections": int(count), "over_100ms": int(count - under)}
    return out


async def _everyone_has_everything(members, since: float, patience: float = 30.0) -> float | None:
    """Seconds from `since` until every member held every confirmed message of its room, live or
    through its own syncs (None: not within `patience` after the sends ended)."""
    should, deadline = confirmed_by_room(members), time.monotonic() + patience
    while time.monotonic() < deadline:
        if all(should[m.room_id] <= m.seqs.ids.keys() for m in members):
            return round(time.monotonic() - since, 2)
        await asyncio.sleep(0.1)
    return None


# --- idle sockets and delta sync ----------------------------------------------------------

async def idle(server, layout: dict, args) -> dict:
    people = [(room["room"], m["token"]) for room in layout["rooms"] for m in room["members"]]
    urls = [clients.ws_url(server.port, people[i % len(people)][1], people[i % len(people)][0])
            for i in range(args.idle)]
    proc = psutil.Process(server.pid)
    warm = (await clients.open_many(urls[:20], concurrency=10))[0]
    await asyncio.sleep(2)
    rss_before = proc.memory_info().rss
    scrape_before = Scrape.of(server.url)
    account = CpuAccount({"ws": [proc]}).start()
    sockets, latencies, errors, elapsed = await clients.open_many(urls[20:], args.idle_concurrency,
                                                                  stop_after_failures=200)
    cpu = account.stop()
    during = Scrape.of(server.url) - scrape_before
    opened = [ws for ws in sockets if ws is not None]
    await asyncio.sleep(5)  # the accept work and heartbeats settle
    rss_after = proc.memory_info().rss
    held_cpu = cpu_seconds(proc)
    await asyncio.sleep(IDLE_HOLD_S)  # what holding them costs: every socket open, none sending
    held_cpu = cpu_seconds(proc) - held_cpu
    alive = 0
    for ws in opened[:: max(1, len(opened) // 100)][:100]:  # still served? a ping must come back as pong
        try:
            await ws.send('{"type":"ping"}')
            while orjson.loads(await asyncio.wait_for(ws.recv(), 10)).get("type") != "pong":
                pass
            alive += 1
        except Exception:  # noqa: BLE001 - a dead socket is what is being counted
            pass
    await clients.close_many(opened + [w for w in warm if w is not None])
    n = len(opened)
    return {"target": args.idle, "opened": n + sum(1 for w in warm if w), "failed": len(errors),
            "first_errors": collections.Counter(errors).most_common(3),
            "connects_per_s": round(n / elapsed, 1) if elapsed else None, "connect_latency_ms": summary_ms(latencies),
            "rss_before_mb": round(rss_before / 2**20, 1), "rss_after_mb": round(rss_after / 2**20, 1),
            "kb_per_socket": round((rss_after - rss_before) / n / 1024, 1) if n else None,
            "ping_sample_alive": f"{alive}/{min(100, n)}", "cpu_during_connects": cpu,
            "ws_cpu_ms_per_connect": round(1000 * cpu["cpu_seconds"]["ws"] / n, 2) if n else None,
            "gc_during_connects": gc_pauses(during),
            "gc_seconds_during_connects": round(sum(during.value("chat_gc_pause_seconds_sum", generation=g)
                                                    for g in ("0", "1", "2")), 2),
            "loop_stalls_during_connects": int(during.value("chat_ws_loop_stalls_total")),
            "held_idle_ws_cpu_pct": round(100 * held_cpu / IDLE_HOLD_S, 1)}


async def sync(server, layout: dict, args) -> dict:
    sync_room = layout["sync"]
    url = clients.ws_url(server.port, sync_room["token"], sync_room["room"])
    sockets = [(await clients.open_socket(url))[0] for _ in range(SYNC_SOCKETS)]
    frame = orjson.dumps({"type": "sync_request", "last_seq": sync_room["last_seq"] - args.sync_missed}).decode()

    async def once(ws) -> int:
        await ws.send(frame)
        while (answer := orjson.loads(await asyncio.wait_for(ws.recv(), 10)))["type"] != "sync_response":
            if answer["type"] == "error":
                raise RuntimeError(f"the server answered {answer}")
        return len(answer["messages"])

    for i in range(10):  # warm-up: connections, caches
        await once(sockets[i % SYNC_SOCKETS])
        await asyncio.sleep(SYNC_PACE_S)
    before = Scrape.of(server.url)
    account = CpuAccount({"ws": [psutil.Process(server.pid)]}).start()
    round_trips, sizes = [], set()
    for i in range(args.sync_reps):
        started = time.monotonic()
        sizes.add(await once(sockets[i % SYNC_SOCKETS]))
        round_trips.append(time.monotonic() - started)
        await asyncio.sleep(max(0.0, SYNC_PACE_S - round_trips[-1]))
    server_side = (Scrape.of(server.url) - before).histogram("chat_sync_seconds")
    await clients.close_many(sockets)
    return {"missed": args.sync_missed, "reps": args.sync_reps, "messages_per_response": sorted(sizes),
            "client_round_trip_ms": summary_ms(round_trips), "server_chat_sync_seconds": server_side,
            "cpu": account.stop()}


# --- one run of one scenario --------------------------------------------------------------

def run(scenario: str, args, layout: dict) -> dict:
    record = new_record(scenario, args, DEFAULTS)
    prefix = f"bench-rt-{uuid.uuid4().hex[:8]}"
    cluster = noise = None
    servers: list = []
    try:
        if scenario == "failover":
            cluster = processes.SentinelCluster(f"bench{uuid.uuid4().hex[:6]}").start()
        env = server_env(args, args.db, prefix, cluster.env if cluster else None)
        servers = [processes.ws_server(env, cores=ws_cores(args, i)) for i in range(record["ws_processes"])]
        for server in servers:
            server.wait_ready(60)
        noise = Noise.start(args)
        if scenario in ("idle", "sync"):
            work = (idle if scenario == "idle" else sync)(servers[0], layout, args)
        else:
            work = fanout(servers, layout["big" if scenario == "big-room" else "rooms"], record["rate"], args, cluster)
        record["result"] = asyncio.run(work)
        record.update(noise.share() if noise else {})
    except Exception as exc:  # noqa: BLE001 - a run that breaks is a result too; the next runs go on
        record["result"] = {"error": f"{type(exc).__name__}: {exc}"[:300]}
    finally:
        if noise:
            noise.stop()
        for server in servers:
            server.terminate()
        if cluster is not None:
            cluster.stop()
        seeding.forget_redis_keys(REDIS_URL, prefix)
    record["box_after"] = {**box_load(), "busiest": busiest()}
    return record


def new_record(scenario: str, args, defaults: dict) -> dict:
    """A run's record as it starts: the scenario, its rate and processes (the options or the
    scenario's defaults), and the box's load before it."""
    rate, ws_default = defaults[scenario]
    return {"scenario": scenario, "rate": args.rate or rate, "ws_processes": args.ws_processes or ws_default,
            "noise": args.noise, "box_before": {**box_load(), "busiest": busiest()}}


class Noise:
    """--noise: a process keeping the first ws core about half busy, started once the servers are
    ready; `share()` is what it got of that core (less than half when the box is busy)."""

    def __init__(self, proc):
        self.proc, self.started = proc, time.monotonic()

    @classmethod
    def start(cls, args) -> "Noise | None":
        return cls(processes.noise(ws_cores(args, 0))) if args.noise else None

    def share(self) -> dict:
        busy = sum(psutil.Process(self.proc.pid).cpu_times()[:2])
        return {"noise_busy_pct": round(100 * busy / (time.monotonic() - self.started), 1)}

    def stop(self) -> None:
        processes.stop(self.proc)


def ws_cores(args, i: int) -> str | None:
    """The taskset cores of the i-th ws process: --ws-cores "0" puts every ws process on core 0,
    "0/1" the first on core 0 and the second on core 1 (the noise maker joins the first's)."""
    if args.ws_cores is None:
        return None
    each = args.ws_cores.split("/")
    return each[i % len(each)]


def summary(record: dict) -> str:
    r, head = record["result"], run_heading(record)
    if "send_to_message_new_ms" in r:
        line = (f"{head}; {fanout_figures(r)}, members needing sync {r['members_needing_sync']}; ws CPU "
                f"{r['ws_cpu_us_per_delivery']} us/delivery; server repairs {r['server']['repairs']} "
                f"resyncs {r['server']['resync_signals']}; disk flush p99/max {r['disk_fsync'].get('p99_ms')}/"
                f"{r['disk_fsync'].get('max_ms')} ms")
        return line + (f"; failover {r['failover']}" if "failover" in r else "")
    return f"{head}; {json.dumps(r)}"


def run_heading(record: dict, server: str = "") -> str:
    """`[scenario ws=N noise P%] load A -> B`, the start of a run's summary line."""
    noise = f" noise {record.get('noise_busy_pct')}%" if record["noise"] else ""
    load = f"load {record['box_before']['loadavg'][0]} -> {record['box_after']['loadavg'][0]}"
    return f"[{server}{record['scenario']} ws={record['ws_processes']}{noise}] {load}"


def fanout_figures(r: dict) -> str:
    """A fan-out run's counts, latencies and losses, as both benches summarise them."""
    c, d = r["send_to_confirmed_ms"], r["send_to_message_new_ms"]
    return (f"confirmed {r['confirmed']}/{r['sends']}, deliveries {r['deliveries']}/{r['deliveries_expected']}; "
            f"confirm p50/p95/p99 {c['p50']}/{c['p95']}/{c['p99']} ms; message_new {d['p50']}/{d['p95']}/{d['p99']} "
            f"ms; lost live {r['lost_live']}, duplicates {r['duplicates']}")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add = parser.add_argument
    add("--scenario", default="rooms,big-room,failover,idle,sync", help="comma list of " + ", ".join(DEFAULTS))
    add("--ws-processes", type=int, default=None, help="ws processes (default: 1, big-room and failover 2)")
    add("--rate", type=float, default=None, help="sends/s (default: rooms 200, big-room 5, failover 100)")
    add_load_options(add)
    add("--idle", type=int, default=10_000, help="idle sockets to open")
    add("--idle-concurrency", type=int, default=100, help="handshakes in flight")
    add("--sync-missed", type=int, default=200)
    add("--sync-messages", type=int, default=1000, help="messages in the sync room")
    add("--sync-reps", type=int, default=300)
    add("--ws-cores", default="0", help="taskset cores of the ws processes (and the noise); '/' gives each its own, "
        "e.g. 0/1")
    add("--db", default="chat_bench_rt")
    add("--json", default=None, help="write the results here (default var/bench/realtime-<time>.json)")
    add("--server-env", action="append", default=[], help="KEY=VALUE for the ws processes (repeatable)")
    args = parser.parse_args(argv)
    args.scenarios = [s.strip() for s in args.scenario.split(",") if s.strip()]
    unknown = set(args.scenarios) - set(DEFAULTS)
    if unknown:
        parser.error(f"unknown scenario {', '.join(sorted(unknown))}")
    if args.no_pin:
        args.ws_cores = None
    return args


def add_load_options(add) -> None:
    """The options of a fan-out run that loadtests.bench_peer shares: runs, noise, sizes, pinning."""
    add("--repeat", type=int, default=1, help="runs of each scenario")
    add("--noise", action="store_true", help="keep one ws core ~50 %% busy during each run")
    add("--duration", type=float, default=30.0, help="seconds of sending")
    add("--rooms", type=int, default=20)
    add("--room-size", type=int, default=10)
    add("--big-room", type=int, default=2000, help="members of the big room")
    add("--client-cores", default="1", help="cores of this load generator")
    add("--no-pin", action="store_true", help="pin nothing")


def prepare_load_generator(args) -> None:
    """SIGTERM ends through the cleanup path too; file descriptors for every socket; this
    process on its own core(s) unless --no-pin."""
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard if hard != resource.RLIM_INFINITY else 65536, hard))
    if not args.no_pin:
        os.sched_setaffinity(0, {int(c) for c in args.client_cores.split(",")})


def seed(args) -> dict:
    """One seeding per invocation: the rooms, the big room and the sync room the scenarios need."""
    env = {**os.environ, **server_env(args, args.db, "seed", None)}
    wanted = set(args.scenarios)
    layout = seeding.seed(env, args.rooms if wanted & {"rooms", "failover", "idle"} else 0, args.room_size,
                          args.sync_messages if "sync" in wanted else 0, analyze=True)
    if "big-room" in wanted:
        layout["big"] = seeding.seed(env, 1, args.big_room, analyze=True)["rooms"]
    return layout


def main(argv=None) -> int:
    args = parse_args(argv)
    prepare_load_generator(args)
    return run_invocation(args, tool="bench_realtime", servers="ws processes", results_name="realtime",
                          extra={}, prepare=lambda layout, results: lambda scenario: run(scenario, args, layout),
                          summarise=summary)


def run_invocation(args, *, tool: str, servers: str, results_name: str, extra: dict, prepare, summarise) -> int:
    """One invocation of a fan-out bench (this one, loadtests.bench_peer): the core split, a fresh
    database and its seeding, each scenario --repeat times with a summary line per run, and the
    results file, written even when interrupted. `prepare(layout, results)` gives the function
    that runs one scenario."""
    split = ("unpinned" if args.no_pin else f"{servers}{' and noise' if args.noise else ''} on core(s) "
             f"{args.ws_cores}, load generator on core(s) {args.client_cores} (taskset); PostgreSQL and Redis "
             f"unpinned; {psutil.cpu_count()} cores")
    results = {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
               "command": " ".join([f".venv/bin/python -m loadtests.{tool}", *sys.argv[1:]]),
               "core_split": split, **extra, "runs": []}
    print(f"{tool.replace('_', '-')} {results['date']}  {split}", flush=True)
    seeding.rebuild_database(args.db)
    out = Path(args.json or processes.ROOT / "var" / "bench" / f"{results_name}-{int(time.time())}.json")
    try:
        run_scenario = prepare(seed(args), results)
        for scenario in args.scenarios:
            for _ in range(args.repeat):
                results["runs"].append(run_scenario(scenario))
                print("  " + summarise(results["runs"][-1]), flush=True)
    except KeyboardInterrupt:
        print("  interrupted: everything started was stopped")
        return 130
    finally:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(results, indent=2, ensure_ascii=False, default=sorted))
        print(f"  results: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

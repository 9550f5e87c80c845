"""The fan-out benchmark's PEER: loadtests/peer/server.js (socket.io 4, the official Redis adapter,
our own send statement) measured exactly the way loadtests.bench_realtime measures our Daphne
ws processes, so the two can be run back to back on one box and reported as ratios.

Scenarios (--scenario, a comma list; each runs --repeat times with the box load recorded around it):

  rooms     --rooms rooms of --room-size members (20 x 10), --rate sends/s (200) for --duration s,
            members spread round-robin over --ws-processes node processes (1)
  big-room  one room of --big-room members (2,000) over --ws-processes (2), --rate 5 messages/s

What is shared with bench_realtime (imported, not copied): the database rebuild and seeding
(harness.seeding through bench_realtime.seed: migrations through the launcher, the same rooms and
users), the send schedule (`senders`, `send_on_schedule`: round-robin over rooms, then members,
one task per send, the same temp_ids and content), the generator's gc freeze, the core split
(--ws-cores "0" or "0/1", --client-cores, --noise on the first ws core), the CPU account
(harness.cpu.CpuAccount, group "ws" = the node processes with their children), the fsync probe,
the latency summaries and the delivery tally (harness.member.tally over a SeqTracker per member),
the invocation itself (run_invocation: seeding, repeats, the results file), a run's record and
summary head (new_record, run_heading, fanout_figures), and the member's reconnect loop
(PeerMember only opens its own kind of session).

The send statement is ours, literally: chat.sending._PG_SEND, read in a child process (this
load generator stays free of Django) and turned from %(name)s to $n placeholders; server.js gets
the names in $n order (PEER_SEND_PARAMS) and binds them by name.

The client is a minimal engine.io 4 / socket.io 5 client over the same `websockets` library and
connect options as harness.clients.open_socket, parsing with orjson, one socket per member, like
harness.member.Member: a send waits for its confirmation (or failure) and is retried like
Member's; a closed socket reconnects to the next process. The peer has no sync: a seq gap seen
live is counted (gap_sync_requests: the syncs our client would have asked for), not repaired.

    .venv/bin/python -m loadtests.bench_peer --scenario rooms --repeat 3
    .venv/bin/python -m loadtests.bench_peer --scenario rooms --ws-processes 2 --ws-cores 0/1
    .venv/bin/python -m loadtests.bench_peer --scenario big-room --ws-processes 2
"""
import argparse
import asyncio
import collections
import json
import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from typing import Callable

import orjson
import psutil
from websockets.asyncio.client import connect

from harness import processes, seeding
from harness.cpu import CpuAccount, box_load, busiest
from harness.disk import FsyncProbe
from harness.member import Member, start, stop, tally
from harness.stats import summary_ms
from loadtests.bench_realtime import (REDIS_URL, Noise, add_load_options, fanout_figures, generator_gc_off,
                                      new_record, prepare_load_generator, run_heading, run_invocation,
                                      send_on_schedule, senders, server_env, ws_cores)

PEER_DIR = processes.ROOT / "loadtests" / "peer"
DEFAULTS = {"rooms": (200.0, 1), "big-room": (5.0, 2)}
POOL_SIZE = 4  # CHAT_ASYNC_DB_POOL_SIZE's default, the pool our ws process sends on


# --- the send statement, literally ours ---------------------------------------------------

def send_statement(env: dict) -> tuple[str, list[str]]:
    """chat.sending._PG_SEND with $1..$n for its %(name)s placeholders (numbered in order of first
    appearance), and the names in $n order."""
    code = "import django, json; django.setup(); from chat.sending import _PG_SEND; print(json.dumps(_PG_SEND))"
    env = {k: v for k, v in env.items() if v is not None}
    out = subprocess.run([sys.executable, "-c", code], cwd=processes.ROOT, env=env, check=True, timeout=120,
                         capture_output=True, text=True)
    return to_numbered(json.loads(out.stdout.strip().splitlines()[-1]))


def to_numbered(statement: str) -> tuple[str, list[str]]:
    names: list[str] = []

    def number(match: re.Match) -> str:
        if match.group(1) not in names:
            names.append(match.group(1))
        return f"${names.index(match.group(1)) + 1}"

    sql = re.sub(r"%\((\w+)\)s", number, statement).replace("%%", "%")
    if re.search(r"%[s(]", sql):
        raise SystemExit("the send statement has placeholders this driver does not understand")
    return sql, names


# --- the client: engine.io 4 / socket.io 5 over websockets ----------------------------------

def peer_url(port: int) -> str:
    return f"ws://127.0.0.1:{port}/socket.io/?EIO=4&transport=websocket"


async def open_peer_socket(url: str, auth: dict, timeout: float = 15.0, **options):
    """Connect, read engine.io's open packet, join the default namespace with `auth`; the socket
    once the server's `40{...}` came back. Options as harness.clients.open_socket."""
    options = {"close_timeout": 2, "compression": None, "max_size": 4 * 2**20, "ping_interval": None,
               "max_queue": None, **options}
    ws = await connect(url, open_timeout=timeout, **options)
    try:
        opened = await asyncio.wait_for(ws.recv(), timeout)
        if not opened.startswith("0"):
            raise ConnectionError(f"expected an engine.io open packet, got {opened[:100]!r}")
        await ws.send("40" + orjson.dumps(auth).decode())
        while True:
            answer = await asyncio.wait_for(ws.recv(), timeout)
            if answer == "2":
                await ws.send("3")
            elif answer.startswith("40"):
                return ws
            else:
                raise ConnectionError(f"namespace connect refused: {answer[:200]!r}")
    except BaseException:
        await ws.close()
        raise


class PeerMember(Member):
    """One room member on the peer: Member's sends (the same temp_id on every retry), over the
    engine.io wire; no sync (the peer has none)."""

    FINAL_FAILURES = ("duplicate", "forbidden", "invalid")  # retrying cannot change these

    def __init__(self, name: str, user: int, room_id: int, urls: list[str], home: int = 0,
                 on_message: Callable[[str, dict, float], None] | None = None):
        super().__init__(name, room_id, urls, home, on_message)
        self.user = user
        self.failed: list[tuple[str, str]] = []

    async def session(self, url: str) -> None:
        ws = await open_peer_socket(url, {"user": self.user, "rooms": [self.room_id]}, timeout=5, close_timeout=1)
        async with ws:
            self.opened(ws)
            self.connected.set()
            async for raw in ws:
                if raw == "2":  # engine.io ping
                    await ws.send("3")
                elif raw.startswith("42"):
                    name, payload = orjson.loads(raw[2:])
                    self._handle_event(name, payload)
                elif raw.startswith(("41", "1")):  # namespace or engine.io close
                    break

    def _handle_event(self, kind: str, frame: dict) -> None:
        if kind in ("message_new", "message_confirmed") and frame["message"]["room"] == self.room_id:
            message = frame["message"]
            if self.on_message is not None:
                self.on_message(kind, frame, time.monotonic())
            if message["seq"] > self.seqs.watermark + 1:
                self.gap_syncs += 1
                self.gaps.append({"member": self.name, "kind": kind, "seq": message["seq"],
                                  "held_up_to": self.seqs.watermark, "at": round(time.monotonic(), 3)})
            self.seqs.observe(message["seq"], message["id"])
            if kind == "message_confirmed":
                self._answer({**frame, "type": kind})
        elif kind == "message_failed":
            self._answer({**frame, "type": kind})

    def send_frame(self, temp_id: str, content: str) -> str:
        return "42" + orjson.dumps(["message_send", {"room": self.room_id, "content": content,
                                                      "temp_id": temp_id}]).decode()

    def gives_up(self, temp_id: str, outcome: dict) -> bool:
        """The peer, unlike ours, does not confirm a temp_id it already stored: `duplicate` ends it."""
        if outcome["type"] != "message_failed":
            return False
        self.failed.append((temp_id, outcome.get("code")))
        return outcome.get("code") in self.FINAL_FAILURES


# --- fan-out under send load --------------------------------------------------------------

async def fanout(servers, rooms: list[dict], rate: float, args) -> dict:
    sent_at: dict[str, float] = {}
    confirm, deliver = [], []

    def on_message(kind: str, frame: dict, now: float) -> None:
        temp_id = frame["message"].get("temp_id") if kind == "message_new" else frame["temp_id"]
        if temp_id in sent_at:
            (deliver if kind == "message_new" else confirm).append(now - sent_at[temp_id])

    urls = [peer_url(s.port) for s in servers]
    members = [PeerMember(f"u{m['user']}", m["user"], room["room"], urls, home=i % len(servers),
                          on_message=on_message)
               for i, (room, m) in enumerate((room, m) for room in rooms for m in room["members"])]
    runners = await start(members, timeout=60)
    try:
        await asyncio.sleep(2.0)  # as ours after its members' catch-up: the connect burst settles
        account = CpuAccount({"ws": [psutil.Process(s.pid) for s in servers]}).start()
        disk = FsyncProbe(str(processes.ROOT / "var" / "bench")).start()
        with generator_gc_off():
            sending = await send_on_schedule(senders(members), rate, args.duration, sent_at, None)
        room_size = collections.Counter(m.room_id for m in members)
        expected = sum(len(m.confirmed) * (room_size[m.room_id] - 1) for m in members)
        drain_until = time.monotonic() + 15
        with generator_gc_off():
            while len(deliver) < expected and time.monotonic() < drain_until:
                await asyncio.sleep(0.1)
        cpu, fsync = account.stop(), disk.stop()
        failed = collections.Counter(code for m in members for _, code in m.failed)
        return {"sockets": len(members), "ws_processes": len(servers), "sends": sending["sends"],
                "send_window_s": sending["window_s"], "max_schedule_lag_ms": sending["max_lag_ms"],
                "confirmed": sum(len(m.confirmed) for m in members), "deliveries": len(deliver),
                "deliveries_expected": expected,
                "send_to_confirmed_ms": summary_ms(confirm), "send_to_message_new_ms": summary_ms(deliver),
                **tally(members), "failed_answers": dict(failed),
                "ws_cpu_seconds": cpu["cpu_seconds"]["ws"],
                "ws_cpu_us_per_delivery": round(cpu["cpu_seconds"]["ws"] / len(deliver) * 1e6, 1)
                if deliver else None,
                "cpu": cpu, "disk_fsync": fsync}
    finally:
        await stop(members, runners)


# --- one run of one scenario --------------------------------------------------------------

def peer_server(args, statement: tuple[str, list[str]], db: str, key: str, cores: str | None) -> processes.Process:
    port = processes.free_port()
    env = {**os.environ, "PORT": str(port), "DATABASE_URL": seeding.database_url(db), "REDIS_URL": REDIS_URL,
           "PEER_KEY": key, "PEER_SEND_SQL": statement[0], "PEER_SEND_PARAMS": ",".join(statement[1]),
           "PEER_PG_POOL": str(POOL_SIZE), "PEER_ROOM_TURN": "0" if args.no_room_turn else "1",
           "NODE_ENV": "production"}
    command = [args.node, str(PEER_DIR / "server.js")]
    if cores is not None:
        command = ["taskset", "-c", cores, *command]  # taskset execs: the pid stays node's
    return processes.Process(command, port, env, log_name="bench-peer")


def run(scenario: str, args, layout: dict, statement: tuple[str, list[str]]) -> dict:
    record = new_record(scenario, args, DEFAULTS)
    key = f"bench-peer-{uuid.uuid4().hex[:8]}"
    noise = None
    servers: list[processes.Process] = []
    try:
        servers = [peer_server(args, statement, args.db, key, ws_cores(args, i))
                   for i in range(record["ws_processes"])]
        for server in servers:
            try:
                server.wait_ready(60)
            except (RuntimeError, TimeoutError) as exc:
                raise RuntimeError(f"{exc}: {server.output()[-1500:]}") from exc
        noise = Noise.start(args)
        record["result"] = asyncio.run(fanout(servers, layout["big" if scenario == "big-room" else "rooms"],
                                              record["rate"], args))
        record.update(noise.share() if noise else {})
    except Exception as exc:  # noqa: BLE001 - a run that breaks is a result too; the next runs go on
        record["result"] = {"error": f"{type(exc).__name__}: {exc}"[:2000]}
    finally:
        if noise:
            noise.stop()
        for server in servers:
            server.terminate()
        seeding.forget_redis_keys(REDIS_URL, key)  # the adapter keeps no keys; pub/sub only
    record["box_after"] = {**box_load(), "busiest": busiest()}
    return record


def summary(record: dict) -> str:
    r, head = record["result"], run_heading(record, "peer ")
    if "send_to_message_new_ms" in r:
        return (f"{head}; {fanout_figures(r)}, live gaps {r['gap_sync_requests']}, failed "
                f"{r['failed_answers'] or 0}; ws CPU {r['ws_cpu_seconds']} s, {r['ws_cpu_us_per_delivery']} "
                f"us/delivery; disk flush p99/max {r['disk_fsync'].get('p99_ms')}/{r['disk_fsync'].get('max_ms')} ms")
    return f"{head}; {json.dumps(r)}"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add = parser.add_argument
    add("--scenario", default="rooms,big-room", help="comma list of " + ", ".join(DEFAULTS))
    add("--ws-processes", type=int, default=None, help="peer node processes (default: rooms 1, big-room 2)")
    add("--rate", type=float, default=None, help="sends/s (default: rooms 200, big-room 5)")
    add_load_options(add)
    add("--ws-cores", default="0", help="taskset cores of the node processes (and the noise); '/' gives each its "
        "own, e.g. 0/1")
    add("--no-room-turn", action="store_true", help="the peer sends without per-room turns (ours takes them)")
    add("--node", default=shutil.which("node") or "node", help="the node binary")
    add("--db", default="chat_bench_peer")
    add("--json", default=None, help="write the results here (default var/bench/peer-<time>.json)")
    args = parser.parse_args(argv)
    args.scenarios = [s.strip() for s in args.scenario.split(",") if s.strip()]
    unknown = set(args.scenarios) - set(DEFAULTS)
    if unknown:
        parser.error(f"unknown scenario {', '.join(sorted(unknown))}")
    if args.no_pin:
        args.ws_cores = None
    args.server_env, args.sync_messages = [], 0  # what bench_realtime.seed / server_env read
    return args


def peer_versions(node: str) -> dict:
    lock = json.loads((PEER_DIR / "package-lock.json").read_text())["packages"]
    names = ("socket.io", "@socket.io/redis-adapter", "socket.io-adapter", "engine.io", "ws", "redis", "pg")
    found = {n: lock.get(f"node_modules/{n}", {}).get("version") for n in names}
    found["node"] = subprocess.run([node, "--version"], capture_output=True, text=True).stdout.strip()
    return found


def main(argv=None) -> int:
    args = parse_args(argv)
    if not (PEER_DIR / "node_modules").is_dir():
        raise SystemExit(f"run `npm ci` in {PEER_DIR} first")
    prepare_load_generator(args)

    def prepare(layout: dict, results: dict):
        statement = send_statement({**os.environ, **server_env(args, args.db, "seed", None)})
        results["peer"].update(send_sql=statement[0], send_params=statement[1])
        return lambda scenario: run(scenario, args, layout, statement)

    peer = {"versions": peer_versions(args.node), "pg_pool": POOL_SIZE, "room_turns": not args.no_room_turn}
    return run_invocation(args, tool="bench_peer", servers="peer node processes", results_name="peer",
                          extra={"peer": peer}, prepare=prepare, summarise=summary)


if __name__ == "__main__":
    sys.exit(main())

"""A client from the outside: it registers its members through the HTTP API and speaks only the
public contract (../shared/DESIGN.md sections 4 and 5) to a running deployment.

    python -m cluster.outside [--target http://127.0.0.1:8080] [--rooms 20] [--room-size 10]
                              [--rate 200] [--duration 30] [--repeat 3]

Nothing here reads the server's database or code: members are registered with
POST /api/auth/register/ (the target must allow that many registrations from one address:
`CHAT_THROTTLE_REGISTER_ADDRESS=10000/hour make cluster`), each room is created by its first
member with POST /api/chat/rooms/, every member holds a one-room socket, and sends go out at
--rate per second, evenly spaced and round robin over the rooms and their members, each member
waiting for its confirmation before its next send like the web app. Per run: send ->
message_confirmed and send -> message_new at every other member (p50/p95/p99), and after the
run every room's history is read back through GET /api/chat/messages/ and compared with what
each member saw live: a stored message another member never got as `message_new` is lost live;
one it got twice on one socket is a duplicate. Against `make cluster` (the default target) the
ws processes' CPU is read from its supervisor: CPU seconds per delivery.
"""
import argparse
import asyncio
import json
import secrets
import time

import aiohttp
import orjson
import psutil
import websockets

from cluster import control
from cluster.topology import ROOT, from_env
from harness.cpu import box_load, cpu_seconds
from harness.seqs import SeqTracker
from harness.stats import summary_ms

PASSWORD = "outside-client-" + secrets.token_hex(8)
CONTENT = "outside client — ქართული ტექსტი and English"


class Member:
    def __init__(self, name: str, token: str, user_id: int):
        self.name, self.token, self.user_id = name, token, user_id
        self.room: int | None = None
        self.ws = None
        self.seqs = SeqTracker()
        self.confirmations: dict[str, asyncio.Future] = {}


async def register(http: aiohttp.ClientSession, target: str, name: str) -> Member:
    async with http.post(f"{target}/api/auth/register/", json={"username": name, "password": PASSWORD}) as answer:
        body = await answer.json()
        if answer.status != 201:
            raise SystemExit(f"register {name}: {answer.status} {body} (raise CHAT_THROTTLE_REGISTER_ADDRESS?)")
    return Member(name, body["token"], body["user"]["id"])


async def create_room(http: aiohttp.ClientSession, target: str, members: list[Member], name: str) -> int:
    owner, *others = members
    async with http.post(f"{target}/api/chat/rooms/", json={"name": name, "members": [m.user_id for m in others]},
                         headers={"Authorization": f"Token {owner.token}"}) as answer:
        body = await answer.json()
        if answer.status != 201:
            raise SystemExit(f"create room: {answer.status} {body}")
    for m in members:
        m.room = body["id"]
    return body["id"]


def ws_url(target: str, member: Member) -> str:
    scheme = "wss" if target.startswith("https") else "ws"
    return f"{scheme}://{target.split('://', 1)[1]}/ws/chat/{member.room}/?token={member.token}"


async def connect(target: str, member: Member) -> None:
    member.ws = await websockets.connect(ws_url(target, member), max_size=2**22, ping_interval=None,
                                         compression=None, open_timeout=30)
    member.seqs = SeqTracker()
    while orjson.loads(await member.ws.recv())["type"] != "connection_established":
        pass


async def read(member: Member, sent: dict, deliver: list, confirm: list) -> None:
    try:
        async for raw in member.ws:
            frame = orjson.loads(raw)
            kind = frame["type"]
            if kind not in ("message_new", "message_confirmed"):
                continue
            message, now = frame["message"], time.perf_counter()
            at = sent.get(message["temp_id"])
            if at is not None:
                (confirm if kind == "message_confirmed" else deliver).append(now - at)
            if kind == "message_new":
                member.seqs.observe(message["seq"], message["id"])
            else:
                waiter = member.confirmations.pop(message["temp_id"], None)
                if waiter is not None and not waiter.done():
                    waiter.set_result(message)
    except websockets.ConnectionClosed:
        return


async def send(member: Member, temp_id: str, sent: dict) -> None:
    waiter = member.confirmations[temp_id] = asyncio.get_running_loop().create_future()
    sent[temp_id] = time.perf_counter()
    await member.ws.send(orjson.dumps({"type": "message_send", "content": CONTENT, "temp_id": temp_id}).decode())
    await asyncio.wait_for(waiter, 30)


async def history(http: aiohttp.ClientSession, target: str, member: Member) -> list[dict]:
    """Every stored message of the member's room (the public history pages, newest first)."""
    messages, before = [], None
    while True:
        query = f"room={member.room}&limit=100" + (f"&before={before}" if before else "")
        async with http.get(f"{target}/api/chat/messages/?{query}",
                            headers={"Authorization": f"Token {member.token}"}) as answer:
            page = await answer.json()
        messages += page["messages"]
        if not page["has_more"] or not page["messages"]:
            return messages
        before = page["cursor"]


def ws_cpu(topology) -> float | None:
    """CPU seconds of the local cluster's ws processes, or None when the target is not it."""
    if topology is None:
        return None
    total = 0.0
    for info in control.rpc(topology).getAllProcessInfo():
        if info["name"].startswith("ws-") and info["pid"]:
            total += cpu_seconds(psutil.Process(info["pid"]))
    return total


async def one_run(http, target: str, members: list[Member], args, run: int, topology) -> dict:
    rooms = [members[i:i + args.room_size] for i in range(0, len(members), args.room_size)]
    for i, room in enumerate(rooms):
        await create_room(http, target, room, f"outside run {run} room {i}")
    await asyncio.gather(*(connect(target, m) for m in members))
    sent, deliver, confirm = {}, [], []
    readers = [asyncio.create_task(read(m, sent, deliver, confirm)) for m in members]
    await asyncio.sleep(2.0)  # presence frames of the connects settle
    load_before, cpu_before, started = box_load(), ws_cpu(topology), time.perf_counter()
    order = [rooms[k % len(rooms)][(k // len(rooms)) % args.room_size] for k in range(len(members))]
    total, tasks, busy = int(args.rate * args.duration), [], {}
    for k in range(total):
        delay = started + k / args.rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        member = order[k % len(order)]
        previous = busy.get(member.name)
        task = asyncio.create_task(_after(previous, send(member, f"o{run}-{k}-{secrets.token_hex(3)}", sent)))
        busy[member.name] = task
        tasks.append(task)
    results = await asyncio.gather(*tasks, return_exceptions=True)
    expected = (len(tasks) - sum(isinstance(r, BaseException) for r in results)) * (args.room_size - 1)
    deadline = time.monotonic() + 15
    while len(deliver) < expected and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    window, cpu_after = time.perf_counter() - started, ws_cpu(topology)
    lost, duplicates = await _compare(http, target, members)
    for m in members:
        await m.ws.close()
    for task in readers:
        task.cancel()
    cpu = None if cpu_before is None else cpu_after - cpu_before
    return {"run": run, "sends": total, "failed_sends": sum(isinstance(r, BaseException) for r in results),
            "deliveries": len(deliver), "expected_deliveries": expected, "lost_live": lost,
            "duplicates": duplicates, "send_to_confirmed_ms": summary_ms(confirm),
            "send_to_message_new_ms": summary_ms(deliver), "window_s": round(window, 1),
            "ws_cpu_seconds": None if cpu is None else round(cpu, 2),
            "ws_cpu_us_per_delivery": None if not cpu or not deliver else round(cpu / len(deliver) * 1e6, 1),
            "box_before": load_before, "box_after": box_load()}


async def _after(previous: asyncio.Task | None, work):
    """A member's sends one after another: each waits for the previous confirmation."""
    if previous is not None:
        await asyncio.gather(previous, return_exceptions=True)
    return await work


async def _compare(http, target: str, members: list[Member]) -> tuple[int, int]:
    """Lost live: stored messages of others a member never got as message_new; duplicates."""
    lost = duplicates = 0
    stored_by_room: dict[int, list[dict]] = {}
    for m in members:
        if m.room not in stored_by_room:
            stored_by_room[m.room] = await history(http, target, m)
        others = {msg["seq"] for msg in stored_by_room[m.room] if msg["user"]["id"] != m.user_id}
        lost += len(others - m.seqs.live)
        duplicates += len(m.seqs.duplicates)
    return lost, duplicates


def local_cluster(target: str):
    topology = from_env()
    return topology if target.rstrip("/") == topology.url.rstrip("/") and control.supervisor_pid(topology) else None


async def main_async(args) -> dict:
    topology = local_cluster(args.target)
    stamp = time.strftime("%H%M%S", time.gmtime())
    connector = aiohttp.TCPConnector(limit=args.concurrency)
    async with aiohttp.ClientSession(connector=connector) as http:
        registering = asyncio.Semaphore(args.concurrency)

        async def one(i):
            async with registering:
                return await register(http, args.target, f"out{stamp}u{i}")

        members = await asyncio.gather(*(one(i) for i in range(args.rooms * args.room_size)))
        print(f"registered {len(members)} members through {args.target}", flush=True)
        runs = []
        for run in range(1, args.repeat + 1):
            result = await one_run(http, args.target, members, args, run, topology)
            runs.append(result)
            c, d = result["send_to_confirmed_ms"], result["send_to_message_new_ms"]
            print(f"run {run}: load {result['box_before']['loadavg'][0]} -> {result['box_after']['loadavg'][0]}; "
                  f"confirmed p50/p95/p99 {c['p50']}/{c['p95']}/{c['p99']} ms; message_new {d['p50']}/{d['p95']}/"
                  f"{d['p99']} ms; deliveries {result['deliveries']}/{result['expected_deliveries']}, lost live "
                  f"{result['lost_live']}, duplicates {result['duplicates']}, failed sends {result['failed_sends']}; "
                  f"ws CPU {result['ws_cpu_us_per_delivery']} us/delivery", flush=True)
    return {"target": args.target, "rooms": args.rooms, "room_size": args.room_size, "rate": args.rate,
            "duration_s": args.duration, "runs": runs}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", default=from_env().url)
    parser.add_argument("--rooms", type=int, default=20)
    parser.add_argument("--room-size", type=int, default=10)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=8, help="HTTP requests in flight while registering")
    args = parser.parse_args(argv)
    report = asyncio.run(main_async(args))
    out = ROOT / "var" / "bench" / f"outside-{int(time.time())}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2, default=str))
    print(f"results: {out}")
    bad = any(r["lost_live"] or r["duplicates"] or r["failed_sends"] for r in report["runs"])
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Send -> deliver through the cluster's proxy, and the same load on one ws process, back to back.

    python -m cluster.bench [--rates 50,100,200,300] [--duration 15] [--rooms 20] [--room-size 10]

Needs a running `make cluster`. For each rate (sends/s over all rooms) every member of rooms of
`room-size` holds one socket; sends are spread evenly over the members; each `message_new` at
another member is timed against its send (send -> deliver) and every socket's seqs are checked
(harness.seqs) for loss and duplicates. The same steps run twice: through the proxy (the two
ws processes behind HAProxy) and straight at ws-1 alone (one Daphne: the single-process figure
on the same box, the same settings, Redis and PostgreSQL). Where the CPU went during each step
is read per cluster process (psutil). The highest rate whose p99 stays <= 50 ms is reported.
"""
import argparse
import asyncio
import json
import time

import orjson
import psutil

from harness.clients import close_many, open_many
from harness.cpu import cpu_seconds
from harness.seqs import SeqTracker
from harness.stats import summary_ms

from cluster import control
from cluster.drills import seed_rooms
from cluster.topology import from_env

BUDGET_P99_MS = 50.0


class Socket:
    def __init__(self, ws, room: int, name: str):
        self.ws, self.room, self.name = ws, room, name
        self.seqs = SeqTracker()
        self.started = False


async def read(sock: Socket, sent: dict, deliver: list, confirm: list) -> None:
    try:
        async for raw in sock.ws:
            frame = orjson.loads(raw)
            kind = frame.get("type")
            if kind not in ("message_new", "message_confirmed"):
                continue
            message = frame["message"]
            now = time.perf_counter()
            at = sent.get(message["temp_id"])
            if at is not None:
                (confirm if kind == "message_confirmed" else deliver).append(now - at)
            if not sock.started:  # the first seq this socket saw starts its run
                sock.seqs.watermark, sock.started = message["seq"] - 1, True
            sock.seqs.observe(message["seq"], message["id"])
    except Exception:  # noqa: BLE001 - the socket closed at the end of the step
        return


def cluster_cpu(topology) -> dict[str, float]:
    rpc = control.rpc(topology)
    out = {}
    for info in rpc.getAllProcessInfo():
        if info["pid"]:
            try:
                out[info["name"]] = cpu_seconds(psutil.Process(info["pid"]))
            except psutil.Error:
                pass
    out["postgresql (machine's)"] = sum(cpu_seconds(p) for p in psutil.process_iter() if _is_postgres(p))
    out["load generator"] = cpu_seconds(psutil.Process())
    return out


def _is_postgres(proc) -> bool:
    try:
        return proc.name() == "postgres"
    except psutil.Error:
        return False


async def step(url_of, rooms: list[dict], rate: float, duration: float, topology) -> dict:
    urls, owners = [], []
    for room in rooms:
        for i, m in enumerate(room["members"]):
            urls.append(url_of(m["token"]))
            owners.append((room["room"], f"{room['room']}-{i}"))
    sockets, _, errors, _ = await open_many(urls, concurrency=50)
    if errors:
        raise RuntimeError(f"{len(errors)} sockets did not open: {errors[:3]}")
    socks = [Socket(ws, room, name) for ws, (room, name) in zip(sockets, owners)]
    sent: dict[str, float] = {}
    deliver: list[float] = []
    confirm: list[float] = []
    readers = [asyncio.create_task(read(s, sent, deliver, confirm)) for s in socks]
    await asyncio.sleep(1.0)
    cpu_before, wall_before = cluster_cpu(topology), time.perf_counter()
    interval, n, started = 1.0 / rate, 0, time.perf_counter()
    while (now := time.perf_counter()) - started < duration:
        due = int((now - started) / interval) + 1
        while n < due:
            sock = socks[n % len(socks)]
            temp = f"b{n}-{time.time_ns()}"
            sent[temp] = time.perf_counter()
            await sock.ws.send(orjson.dumps({"type": "message_send", "room": sock.room, "content": f"bench {n}",
                                             "temp_id": temp}).decode())
            n += 1
        await asyncio.sleep(interval / 2)
    await asyncio.sleep(3.0)  # the last deliveries land
    wall = time.perf_counter() - wall_before
    cpu_after = cluster_cpu(topology)
    await close_many([s.ws for s in socks])
    for task in readers:
        task.cancel()
    room_size = len(rooms[0]["members"])
    expected = n * (room_size - 1)
    duplicates = sum(len(s.seqs.duplicates) for s in socks)
    cores = {k: round((cpu_after.get(k, 0) - cpu_before.get(k, 0)) / wall, 3) for k in cpu_after}
    return {"rate": rate, "sent": n, "confirmed": len(confirm), "deliveries": len(deliver),
            "expected_deliveries": expected, "missing": expected - len(deliver), "duplicates": duplicates,
            "deliver_ms": summary_ms(deliver), "confirm_ms": summary_ms(confirm),
            "cores_used": {k: v for k, v in sorted(cores.items(), key=lambda kv: -kv[1]) if v >= 0.005}}


async def run(args) -> dict:
    topology = from_env()
    if not control.supervisor_pid(topology):
        raise SystemExit("the cluster is not running: make cluster")
    rooms = await asyncio.to_thread(seed_rooms, topology, args.rooms, args.room_size)
    targets = {
        "cluster (proxy, 2 ws)": lambda token: f"{topology.ws_url}/ws/chat/?token={token}",
        "single ws process (direct)": lambda token: f"ws://127.0.0.1:{topology.ws_ports[0]}/ws/chat/?token={token}",
    }
    results = {}
    for rate in args.rates:
        for name, url_of in targets.items():
            result = await step(url_of, rooms, rate, args.duration, topology)
            results.setdefault(name, []).append(result)
            d = result["deliver_ms"]
            print(f"{name:<28} {rate:>5.0f}/s  deliver p50 {d['p50']} p95 {d['p95']} p99 {d['p99']} ms  "
                  f"missing {result['missing']} dup {result['duplicates']}  cores {result['cores_used']}", flush=True)
    summary = {}
    for name, steps in results.items():
        ok = [s["rate"] for s in steps if s["missing"] == 0 and s["duplicates"] == 0
              and s["deliver_ms"]["p99"] is not None and s["deliver_ms"]["p99"] <= BUDGET_P99_MS]
        summary[name] = max(ok) if ok else None
    print("highest sustained sends/s with p99 <= 50 ms:", summary)
    report = {"when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "rooms": args.rooms,
              "room_size": args.room_size, "duration_s": args.duration, "steps": results, "highest": summary,
              "loadavg_after": list(psutil.getloadavg())}
    path = topology.report_dir / "bench.json"
    path.write_text(json.dumps(report, indent=2))
    print(f"report: {path}")
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", type=lambda s: [float(x) for x in s.split(",")], default=[50, 100, 200, 300])
    parser.add_argument("--duration", type=float, default=15.0)
    parser.add_argument("--rooms", type=int, default=20)
    parser.add_argument("--room-size", type=int, default=10)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()

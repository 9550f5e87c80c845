"""What each channel layer does to live sockets when Redis goes away and comes back.

    .venv/bin/python -m loadtests.probe_layer_outage [--layer core|pubsub|both] [--outage 5]

A private redis-server on a free port (never the shared one), one Daphne on it, two members of a
room connected. Then: message A (Redis up), redis-server killed with -9, message B during the outage,
a fresh (empty) redis-server started on the same port, message C. For each member it reports what the
socket did (close code, or still open), which messages arrived live, and whether a member left open
is still deaf. An empty Redis is the harsh case: a promoted replica keeps the core layer's group
keys, a restarted master does not. Everything it starts is stopped at the end.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import time

import orjson
import websockets

from loadtests import bench_realtime as bench
from harness.processes import free_port, redis_server


async def _listen(ws, log: list, t0: float) -> None:
    try:
        async for raw in ws:
            frame = orjson.loads(raw)
            if frame.get("type") in ("message_new", "message_confirmed", "message_failed"):
                msg = frame.get("message") or {}
                log.append((round(time.perf_counter() - t0, 2), frame["type"], msg.get("content") or frame.get("temp_id")))
    except websockets.ConnectionClosed as exc:
        code = exc.rcvd.code if exc.rcvd else None
        log.append((round(time.perf_counter() - t0, 2), "closed", code))


async def probe(layer: str, db: str, data: dict, outage: float) -> dict:
    port = free_port()
    redis = redis_server(port).wait_ready(10)
    bench.REDIS_URL = f"redis://127.0.0.1:{port}/0"
    server = None
    try:
        server = bench.start_server(db, layer, None, {"REDIS_URL": bench.REDIS_URL})
        room = data["rooms"][0]
        a, b = room["members"][0], room["members"][1]
        url = f"{server.ws_base}/ws/chat/{room['room']}/?token="
        ws_a, _ = await bench.open_socket(url + a["token"])
        ws_b, _ = await bench.open_socket(url + b["token"])
        t0 = time.perf_counter()
        log_a, log_b = [], []
        tasks = [asyncio.create_task(_listen(ws_a, log_a, t0)), asyncio.create_task(_listen(ws_b, log_b, t0))]

        async def send(ws, text):
            try:
                await ws.send(orjson.dumps({"type": "message_send", "content": text, "temp_id": f"{text}-{time.time()}"}).decode())
            except websockets.ConnectionClosed:
                pass

        await asyncio.sleep(1)
        await send(ws_a, "A")
        await asyncio.sleep(1)
        redis.kill()
        await asyncio.sleep(1)
        await send(ws_a, "B")
        await asyncio.sleep(outage)
        redis = redis_server(port).wait_ready(10)
        await asyncio.sleep(5)  # time to reconnect
        await send(ws_a, "C")
        await asyncio.sleep(3)
        await send(ws_a, "D")
        await asyncio.sleep(3)
        states = {"a_open": ws_a.state.name, "b_open": ws_b.state.name}
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for ws in (ws_a, ws_b):
            try:
                await asyncio.wait_for(ws.close(), 3)
            except Exception:  # noqa: BLE001
                pass
        metrics = server.metrics()
        errors = [line for line in metrics.splitlines() if line.startswith("chat_channel_layer_errors_total{")]
        closes = [line for line in metrics.splitlines() if line.startswith("chat_ws_closes_total{")]
        return {"layer": layer, "sender_a": log_a, "receiver_b": log_b, "socket_state_at_end": states,
                "channel_layer_errors": errors, "closes": closes,
                "timeline": "A at 1s, redis killed at 2s, B at 3s, empty redis back at "
                            f"{3 + outage:.0f}s, C at {8 + outage:.0f}s, D at {11 + outage:.0f}s"}
    finally:
        bench.stop_server(server)
        redis.kill()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--layer", default="both", choices=["core", "pubsub", "both"])
    parser.add_argument("--outage", type=float, default=5.0)
    parser.add_argument("--db", default="chat_bench_rt_probe")
    args = parser.parse_args()
    bench.rebuild_database(args.db)
    data = bench.seed(args.db, 1, 2, 10)
    for layer in (["core", "pubsub"] if args.layer == "both" else [args.layer]):
        print(json.dumps(asyncio.run(probe(layer, args.db, data, args.outage)), indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

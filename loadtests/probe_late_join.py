"""Does a socket that joins a room receive frames published *before* it joined? Per channel layer.

    .venv/bin/python -m loadtests.probe_late_join [--layer core|pubsub|both]

One Daphne (shared Redis, unique prefix), two members A and B of a room on /ws/chat/{room}/.
A sends a message and waits for message_confirmed; then A opens a second socket on /ws/chat/ and
the probe lists every frame that socket receives in the next second (with seq / user_id and the
time since the confirm). Expected: nothing (the message was published before the socket joined).
Found on 2026-11-24: core delivers nothing; pubsub delivers the room's earlier user_presence
frames and the message's message_new (the reason tests/ws/test_messages.py::
test_retried_temp_id_confirms_the_original_and_broadcasts_nothing fails under pubsub).
"""
from __future__ import annotations

import argparse
import asyncio
import time

import orjson

from loadtests import bench_realtime as bench


async def _frames(ws, seconds: float, t0: float) -> list:
    got = []
    try:
        while True:
            frame = orjson.loads(await asyncio.wait_for(ws.recv(), seconds))
            got.append((frame["type"], (frame.get("message") or {}).get("seq"), frame.get("user_id"),
                        round(time.time() - t0, 3)))
    except asyncio.TimeoutError:
        pass
    return got


async def probe(server: bench.Server, room: dict) -> list:
    url = f"{server.ws_base}/ws/chat/{room['room']}/?token="
    a, _ = await bench.open_socket(url + room["members"][0]["token"])
    b, _ = await bench.open_socket(url + room["members"][1]["token"])
    await a.send(orjson.dumps({"type": "message_send", "content": "x", "temp_id": f"late-{time.time()}"}).decode())
    await bench._until(a, "message_confirmed")
    confirmed = time.time()
    a2, _ = await bench.open_socket(f"{server.ws_base}/ws/chat/?token={room['members'][0]['token']}")
    got = await _frames(a2, 1.0, confirmed)
    await bench.close_all([a, b, a2])
    return got


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--layer", default="both", choices=["core", "pubsub", "both"])
    parser.add_argument("--db", default="chat_bench_rt_probe")
    args = parser.parse_args()
    bench.rebuild_database(args.db)
    data = bench.seed(args.db, 2, 2, 10)
    for i, layer in enumerate(["core", "pubsub"] if args.layer == "both" else [args.layer]):
        server = bench.start_server(args.db, layer, None)
        try:
            got = asyncio.run(probe(server, data["rooms"][i % len(data["rooms"])]))
        finally:
            bench.stop_server(server)
        print(f"{layer}: frames at the late-joined socket (type, seq, user_id, s after confirm): {got}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

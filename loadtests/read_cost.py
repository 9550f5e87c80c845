"""Per-frame read cost of the two client stacks of loadtests/client_compare.py: a local websockets
server sends N message_new-sized frames at once and the client reads them all.

    .venv/bin/python loadtests/read_cost.py server PORT &   # then: read_cost.py gevent|asyncio PORT [utf8]

The gevent client reads like loadtests/locust_support.WsSession (websocket-client's UTF-8 check
off, orjson validates); `utf8` turns websocket-client's own byte-by-byte check back on.
"""
import sys
KIND = sys.argv[1]
if KIND == "gevent":
    from gevent import monkey; monkey.patch_all()
import json, os, subprocess, time, resource
N = 4400
FRAME = json.dumps({"type": "message_new", "message": {"id": 123456, "room": 12, "seq": 4567, "temp_id": "lt-" + "a" * 32,
    "content": "load test — ქართული ტექსტი and English", "sender": {"id": 77, "username": "member-7"},
    "created_at": "2026-12-01T21:00:00.000000Z", "reactions": []}}, ensure_ascii=False)
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF); return r.ru_utime + r.ru_stime
if KIND == "server":
    import asyncio, websockets
    async def handler(ws):
        await ws.recv()
        for _ in range(N):
            await ws.send(FRAME)
        await ws.recv()
    async def main():
        async with websockets.serve(handler, "127.0.0.1", int(sys.argv[2])):
            await asyncio.sleep(30)
    asyncio.run(main())
elif KIND == "gevent":
    import websocket, orjson
    ws = websocket.create_connection(f"ws://127.0.0.1:{sys.argv[2]}/", enable_multithread=True,
                                     skip_utf8_validation="utf8" not in sys.argv[3:])
    ws.send("go"); t, c = time.perf_counter(), cpu()
    for _ in range(N):
        op, data = ws.recv_data(); orjson.loads(data)
    print(KIND, *sys.argv[3:], f"{(time.perf_counter()-t)/N*1e3:.3f} ms wall/frame, {(cpu()-c)/N*1e3:.3f} ms cpu/frame"); ws.send("bye")
else:
    import asyncio, websockets, orjson
    async def main():
        async with websockets.connect(f"ws://127.0.0.1:{sys.argv[2]}/") as ws:
            await ws.send("go"); t, c = time.perf_counter(), cpu()
            for _ in range(N):
                orjson.loads(await ws.recv())
            print(KIND, f"{(time.perf_counter()-t)/N*1e3:.3f} ms wall/frame, {(cpu()-c)/N*1e3:.3f} ms cpu/frame"); await ws.send("bye")
    asyncio.run(main())

"""The Locust Chatter's client stack against a plain asyncio one, same cluster, same load: send ->
own message_confirmed and send -> others' message_new, gevent + websocket-client vs asyncio +
websockets (docs/loadtest.md "Why Chatter measures more than the bench"). Every member of the
`room token` lines sends every `interval` s, staggered evenly over the interval, or all at the
same instant with the variant `burst`; gevent variants: `nomt` (enable_multithread=False),
`after` (the send time taken after ws.send returns), `utf8` (websocket-client's own UTF-8 check
on; loadtests/locust_support.WsSession leaves it to orjson). Prints one JSON line, plus the gevent
hub's lag (a 10 ms sleep's oversleep).

    .venv/bin/python loadtests/client_compare.py gevent|asyncio TOKENS ws://127.0.0.1:8080 [20] [1] [burst]

TOKENS: a `room token` file, e.g. var/cluster/reports/tokens-chat.txt after a `make loadtest`.
"""
import sys
KIND = sys.argv[1]
if KIND == "gevent":
    from gevent import monkey; monkey.patch_all()
import json, os, socket, statistics, time, uuid, resource
from collections import defaultdict
TOKENS, URL = sys.argv[2], sys.argv[3]
DURATION = float(sys.argv[4]) if len(sys.argv) > 4 else 20
INTERVAL = float(sys.argv[5]) if len(sys.argv) > 5 else 1.0
VARIANTS = set(sys.argv[6:])
pairs = [l.split() for l in open(TOKENS) if l.strip()]
sent, conf, deliv, pong, sendt = {}, [], [], [], []
def pct(xs, p):
    xs = sorted(xs); return xs[min(len(xs) - 1, int(len(xs) * p / 100))] * 1000 if xs else float("nan")
def summary():
    r = resource.getrusage(resource.RUSAGE_SELF)
    out = {"kind": KIND, "variants": sorted(VARIANTS), "cpu_s": round(r.ru_utime + r.ru_stime, 2), "load": os.getloadavg()[0]}
    for name, xs in (("confirm", conf), ("deliver", deliv), ("send_call", sendt)):
        out[name] = f"n={len(xs)} p50={pct(xs,50):.1f} p95={pct(xs,95):.1f} p99={pct(xs,99):.1f} max={pct(xs,100):.1f}"
    print(json.dumps(out), flush=True)
CONTENT = "load test — ქართული ტექსტი and English"
def frame(tid): return json.dumps({"type": "message_send", "content": CONTENT, "temp_id": tid})
def on_raw(raw, now):
    import orjson
    f = orjson.loads(raw)
    k = f.get("type")
    if k in ("message_confirmed", "message_new"):
        at = sent.get(f["message"].get("temp_id"))
        if at is not None:
            (conf if k == "message_confirmed" else deliv).append(now - at)

if KIND == "gevent":
    import gevent, websocket
    def member(i, room, token, start):
        ws = websocket.create_connection(f"{URL}/ws/chat/{room}/?token={token}", timeout=10,
                                         enable_multithread="nomt" not in VARIANTS,
                                         skip_utf8_validation="utf8" not in VARIANTS)
        if i == 0:
            print("client TCP_NODELAY", ws.sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY), flush=True)
        while json.loads(ws.recv()).get("type") != "connection_established":
            pass
        ws.settimeout(None)
        def reader():
            while True:
                op, data = ws.recv_data()
                on_raw(data, time.perf_counter())
        gevent.spawn(reader)
        gevent.sleep(max(0, start - time.time()) + (0 if "burst" in VARIANTS else i * INTERVAL / len(pairs)))
        end = start + DURATION
        nxt = time.perf_counter()
        while time.time() < end:
            tid = uuid.uuid4().hex
            if "after" in VARIANTS:
                ws.send(frame(tid)); sent[tid] = time.perf_counter()
            else:
                sent[tid] = t0 = time.perf_counter(); ws.send(frame(tid)); sendt.append(time.perf_counter() - t0)
            nxt += INTERVAL
            gevent.sleep(max(0, nxt - time.perf_counter()))
    lag = []
    def lagmon():
        while True:
            t = time.perf_counter(); gevent.sleep(0.01); lag.append(time.perf_counter() - t - 0.01)
    gevent.spawn(lagmon)
    start = time.time() + 3
    gs = [gevent.spawn(member, i, int(r), t, start) for i, (r, t) in enumerate(pairs)]
    gevent.sleep(DURATION + 6)
    print("hub lag", f"p50={pct(lag,50):.1f} p99={pct(lag,99):.1f} max={pct(lag,100):.1f}")
    summary(); os._exit(0)
else:
    import asyncio, websockets
    async def member(i, room, token, start):
        ws = await websockets.connect(f"{URL}/ws/chat/{room}/?token={token}", max_size=2**20)
        if i == 0:
            print("client TCP_NODELAY", ws.transport.get_extra_info("socket").getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY), flush=True)
        while json.loads(await ws.recv()).get("type") != "connection_established":
            pass
        async def reader():
            async for raw in ws:
                on_raw(raw, time.perf_counter())
        asyncio.ensure_future(reader())
        await asyncio.sleep(max(0, start - time.time()) + (0 if "burst" in VARIANTS else i * INTERVAL / len(pairs)))
        end = start + DURATION
        nxt = time.perf_counter()
        while time.time() < end:
            tid = uuid.uuid4().hex
            sent[tid] = time.perf_counter(); await ws.send(frame(tid))
            nxt += INTERVAL
            await asyncio.sleep(max(0, nxt - time.perf_counter()))
    async def main():
        start = time.time() + 3
        for i, (r, t) in enumerate(pairs):
            asyncio.ensure_future(member(i, int(r), t, start))
        await asyncio.sleep(DURATION + 6)
        summary(); os._exit(0)
    asyncio.run(main())

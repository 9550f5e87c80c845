"""Which api server: gunicorn with uvicorn workers on the ASGI app, or sync workers on WSGI.

    python -m cluster.bench_api [--seconds 15] [--clients 8] [--workers 2]

Needs a running `make cluster` (its database, Redis and production environment). Starts each
server once on a free port with the same worker count, drives both with the same closed loop of
`clients` threads reading the demo room's newest history page (the API's hot path) and posting
a message now and then, and prints requests/s, p50/p95/p99 and the CPU each server used.
"""
import argparse
import json
import os
import sys
import threading
import time
import urllib.request

import psutil

from harness.cpu import cpu_seconds
from harness.processes import Process, free_port, wait_for_port
from harness.stats import summary_ms

from cluster import control, render
from cluster.topology import ROOT, from_env

SERVERS = {
    "uvicorn workers, ASGI (config.launch api)": lambda port, workers: [
        sys.executable, "-m", "config.launch", "api", "--host", "127.0.0.1", "--port", str(port),
        "--workers", str(workers)],
    "sync workers, WSGI": lambda port, workers: [
        sys.executable, "-m", "gunicorn", "config.wsgi:application", "--bind", f"127.0.0.1:{port}",
        "--workers", str(workers), "--worker-class", "sync"],
}


def token(base: str) -> tuple[str, int]:
    request = urllib.request.Request(f"{base}/api/auth/token/", method="POST", headers={
        "Content-Type": "application/json"}, data=json.dumps({"username": "nino", "password": "chat-demo-2026"}).encode())
    with urllib.request.urlopen(request, timeout=10) as response:
        key = json.loads(response.read())["token"]
    request = urllib.request.Request(f"{base}/api/chat/rooms/", headers={"Authorization": f"Token {key}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        rooms = json.loads(response.read())
    rooms = rooms["results"] if isinstance(rooms, dict) else rooms
    return key, rooms[0]["id"]


def drive(base: str, key: str, room: int, seconds: float, clients: int) -> dict:
    latencies: list[float] = []
    errors: dict[str, int] = {}
    stop = time.monotonic() + seconds

    def client(i: int) -> None:
        n = 0
        while time.monotonic() < stop:
            n += 1
            if n % 10 == 0:
                request = urllib.request.Request(f"{base}/api/chat/messages/", method="POST", headers={
                    "Authorization": f"Token {key}", "Content-Type": "application/json"},
                    data=json.dumps({"room": room, "content": "bench", "temp_id": f"api-{i}-{n}-{time.time_ns()}"}).encode())
            else:
                request = urllib.request.Request(f"{base}/api/chat/messages/?room={room}&limit=50",
                                                 headers={"Authorization": f"Token {key}"})
            started = time.perf_counter()
            try:
                with urllib.request.urlopen(request, timeout=10) as response:
                    response.read()
                latencies.append(time.perf_counter() - started)
            except OSError as exc:
                what = str(getattr(exc, "code", "") or type(exc).__name__)
                errors[what] = errors.get(what, 0) + 1

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {"requests_per_s": round(len(latencies) / seconds, 1), "errors": errors, **summary_ms(latencies)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    topology = from_env()
    env = {**os.environ, **render.app_env(topology)}
    for name, command in SERVERS.items():
        port = free_port()
        server = Process(command(port, args.workers), port, env, log_name="bench-api")
        try:
            wait_for_port(port, 60, server.proc)
            base = f"http://127.0.0.1:{port}"
            control.wait_until(lambda: control.http_get(f"{base}/readyz", timeout=10)[0] == 200, "ready", 120, 1.0)
            key, room = token(base)
            drive(base, key, room, 2.0, args.clients)  # warm: connections, imports, caches
            before = cpu_seconds(psutil.Process(server.pid))
            result = drive(base, key, room, args.seconds, args.clients)
            result["cpu_cores"] = round((cpu_seconds(psutil.Process(server.pid)) - before) / args.seconds, 2)
            print(f"{name}: {result}", flush=True)
        finally:
            server.terminate()


if __name__ == "__main__":
    os.chdir(ROOT)
    main()

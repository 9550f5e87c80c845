"""`make observe` against a whole cluster (issue 11): Debian's Prometheus scrapes every process
(observability/local.py) during a short load through the proxy, and then

- every query of every panel of the generated dashboards returns data, its template variables
  substituted as Grafana would;
- the HTML report of the run renders from that Prometheus;
- kill -9 of a ws process makes ChatWebSocketCloseStorm go pending.

The load: members chatting over the proxy, history reads and HTTP sends, reconnects (client
closes, so every reconnect syncs), browser RUM beacons, and offline members with push
subscriptions (a local push service). Panels whose series only move on a fault get their fault
instead of an exception from this test - each is made to happen in the run:

- "Repairs from PostgreSQL by kind", "Resync signals by reason", "Channel-layer errors by
  operation", "5xx share by route", "Readiness": the Redis master is killed (Sentinel promotes the
  replica). Publications fail and are retried (channel-layer errors), the readiness probes answer
  503 meanwhile (the 5xx share; dependency down), and the fan-out repairs from PostgreSQL: a room
  with a few messages in the outage is repaired, the chatting room (more than the cluster's
  repair limit of CHAT_FANOUT_REPAIR_LIMIT, set low here) gets resync signals.
- "Slow sockets closed (1013)" and "Frames dropped on purpose": a socket that does not read, in
  a room with large messages and typing.
- "Frames refused by the rate limit": a socket that floods pings.
- "Database errors by class": an HTTP send repeated with its temp_id (the idempotency check is an
  IntegrityError by design).
Counters without labels (probe misses, enqueue errors, ...) are exported from 0, so their
panels have data (0) in any run; that is the true value for this run, not an absence.
"""
import asyncio
import json
import math
import re
import shutil
import signal
import socket
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from cluster import control, drills
from cluster.drills import Conversation, Pace
from cluster.push_drill import PushService, subscribe
from harness.clients import close_many, open_many, open_socket, ws_url
from harness.member import Member
from harness import member as harness_member
from observability import local, report
from observability.grafana.generate import DASHBOARDS_DIR
from tests.support.cluster import running_cluster

pytestmark = pytest.mark.e2e

RUN_ENV = {
    # a killed process is reaped (and its sockets counted) within a few seconds, not 15-20
    "CHAT_PRESENCE_TTL_SECONDS": "4",
    "CHAT_PRESENCE_HEARTBEAT_SECONDS": "1",
    # the outage's gap in the chatting room is more than this: it gets resync signals
    # (a sender's confirmation waits for the messages before it, so each talker sends about
    # one message while Redis is away: 8 talkers, a limit of 4)
    "CHAT_FANOUT_REPAIR_LIMIT": "4",
    # a socket that does not read crosses the soft limit (typing dropped) well before the hard one
    "CHAT_WS_SEND_BUFFER_SOFT": "16384",
    "CHAT_WS_SEND_BUFFER_HARD": "524288",
}
TALKERS = 8
IDLE_SOCKETS_PER_MEMBER = 6
BIG = "ნელი კლიენტი " * 500  # ~17 KB of UTF-8 a message
# What Grafana puts in place of its variables (namespace: the one the cluster's targets carry)
VARIABLES = {"$namespace": local.NAMESPACE, "$pod": ".*", "$__rate_interval": "10s", "$__interval": "2s"}


# --- the run ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def observed():
    with running_cluster(RUN_ENV) as topology:
        obs = local.Observe(topology, scrape_interval="1s", evaluation_interval="1s")
        local.up(obs, quiet=True)
        try:
            started = time.time()
            rooms = drills.seed_rooms(topology, 4, 32)
            run = asyncio.run(load(topology, rooms))
            time.sleep(3)  # the last scrapes and rule evaluations
            run.update(start=started, end=time.time())
            yield obs, run
        finally:
            local.stop(obs, quiet=True)


async def load(topology, rooms: list[dict]) -> dict:
    chat_room, idle_room, slow_room, repair_room = rooms
    run: dict = {}
    with PushService(topology.push_port) as push:
        offline = chat_room["members"][TALKERS + 2:TALKERS + 5]
        for i, m in enumerate(offline):
            await asyncio.to_thread(subscribe, topology, m["token"], push.subscription(f"s{i}"))
        idle = await open_idle_sockets(topology, idle_room)
        repairers = [Member(f"r{i}", repair_room["room"], [ws_url(port, repair_room["members"][i]["token"])])
                     for i, port in enumerate(topology.ws_ports)]
        repair_runners = await harness_member.start(repairers)
        http = Http(topology, chat_room)
        try:
            async with Conversation(topology, chat_room, Pace(members=TALKERS, interval=0.25, warm=2.0,
                                                              after=1.0)) as talk:
                http.start()
                await flood_pings(topology, chat_room["members"][TALKERS + 1]["token"])
                for m in talk.members[:3]:  # reconnects: the client closes, comes back, syncs
                    if m.ws is not None:
                        await m.ws.close()
                run["slow"] = await slow_socket(topology, slow_room)
                run["outage"] = await redis_outage(topology, repairers)
                await asyncio.sleep(2.0)
                run["figures"] = await talk.finish(time.monotonic())
            await asyncio.to_thread(http.stop)
            run["push_requests"] = len(push.requests)
        finally:
            await harness_member.stop(repairers, repair_runners)
    run["idle"] = idle
    run["http"] = http
    return run


async def open_idle_sockets(topology, room: dict) -> list:
    """Sockets that only listen, spread over both ws processes by the proxy (least connections)."""
    urls = [f"{topology.ws_url}/ws/chat/?token={m['token']}" for m in room["members"]] * IDLE_SOCKETS_PER_MEMBER
    sockets, _, errors, _ = await open_many(urls, concurrency=20, timeout=20)
    assert not errors, errors[:3]
    return sockets


async def flood_pings(topology, token: str) -> None:
    ws, _ = await open_socket(f"{topology.ws_url}/ws/chat/?token={token}")
    try:
        for _ in range(150):
            await ws.send('{"type": "ping"}')
        await asyncio.sleep(0.5)
    finally:
        await close_many([ws])


async def slow_socket(topology, room: dict) -> dict:
    """A member whose client never reads, in a room of large messages and typing: its frames wait
    in its own buffer, typing is dropped past the soft limit, past the hard one it is closed."""
    members = room["members"]
    stuck = await asyncio.to_thread(non_reading_socket, topology.ws_ports[0], f"/ws/chat/{room['room']}/?token="
                                    f"{members[0]['token']}")
    senders = [Member(f"big{i}", room["room"], [ws_url(topology.ws_ports[0], members[i + 1]["token"])])
               for i in range(4)]
    runners = await harness_member.start(senders)
    typist, _ = await open_socket(ws_url(topology.ws_ports[0], members[5]["token"], room["room"]))
    stop = asyncio.Event()

    async def typing():
        state = True
        while not stop.is_set():
            await typist.send(json.dumps({"type": "typing", "is_typing": state}))
            state = not state
            await asyncio.sleep(0.06)

    async def send(m: Member):
        for i in range(70):
            await m.send(f"{m.name}-{i}", f"{i} {BIG}")

    typing_task = asyncio.create_task(typing())
    try:
        await asyncio.gather(*(send(m) for m in senders))
    finally:
        stop.set()
        await typing_task
        await close_many([typist])
        await harness_member.stop(senders, runners)
        stuck.close()
    return {"sent": sum(len(m.confirmed) for m in senders)}


def non_reading_socket(port: int, path: str) -> socket.socket:
    """A WebSocket handshake by hand on a tiny receive buffer, then never a read."""
    import base64
    import os

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall((f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
    answer = b""
    while b"\r\n\r\n" not in answer:
        answer += sock.recv(1)
    assert answer.startswith(b"HTTP/1.1 101"), answer
    return sock


async def redis_outage(topology, repairers: list[Member]) -> dict:
    """kill -9 the Redis master while members chat; a few messages into the repair room during
    the outage; Sentinel promotes the replica; the killed node comes back as a replica."""
    master = control.master_port(topology)
    name = f"redis-{topology.redis_ports.index(master) + 1}"
    fault_at = time.monotonic()
    drills.kill(topology, name)
    for i in range(3):
        await asyncio.wait_for(repairers[0].send(f"outage-{i}", f"sent while Redis is away {i}"), 30)
    promoted = await drills.wait_for(lambda: control.master_port(topology) not in (None, master),
                                     "Sentinel promoted the replica", 30)
    await drills.wait_for(lambda: all(control.http_get(f"http://127.0.0.1:{p}/readyz")[0] == 200
                                      for p in [*topology.ws_ports, *topology.api_ports]),
                          "every ws and api process ready again", 60)
    await asyncio.to_thread(control.rpc(topology).startProcess, name, True)
    return {"promoted_s": round(promoted - fault_at, 2)}


class Http:
    """History reads and sends over the API through the proxy (one member's token), one send
    repeated with its temp_id, and the RUM beacons a browser sends."""

    def __init__(self, topology, room: dict):
        self.base, self.room = topology.url, room["room"]
        self.token = room["members"][TALKERS]["token"]
        self.statuses: dict[int, int] = {}
        self.running = False

    def call(self, method: str, path: str, body: dict | None = None, token: bool = True) -> int:
        headers = {"Content-Type": "application/json", **({"Authorization": f"Token {self.token}"} if token else {})}
        request = urllib.request.Request(self.base + path, method=method, headers=headers,
                                         data=json.dumps(body).encode() if body is not None else None)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                code = response.status
        except urllib.error.HTTPError as exc:
            code = exc.code
        except OSError:
            code = 0
        self.statuses[code] = self.statuses.get(code, 0) + 1
        return code

    def start(self) -> None:
        self.running = True
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.running = False
        self.thread.join(30)

    def _run(self) -> None:
        i = 0
        while self.running:
            self.call("GET", f"/api/chat/messages/?room={self.room}&limit=50")
            if i % 3 == 0:
                self.call("POST", "/api/chat/messages/", {"room": self.room, "content": f"http {i}", "temp_id": f"h-{i}"})
            if i % 10 == 0:
                self.call("POST", "/api/chat/messages/", {"room": self.room, "content": f"http {i}", "temp_id": f"h-{i}"})
                self.call("POST", "/api/rum/", {"frame_rate": [59.8, 60.1, 47.0], "long_frames": [61.0],
                                                "send_visible": [12.0, 21.0]}, token=False)
            i += 1
            time.sleep(0.1)


# --- what Prometheus has ----------------------------------------------------------------------
def panel_queries() -> list[tuple[str, str, str]]:
    """(dashboard, panel, expr) of every panel query, and each template variable's series."""
    found = []
    for path in sorted(Path(DASHBOARDS_DIR).glob("*.json")):
        board = json.loads(path.read_text())
        for panel in board["panels"]:
            for target in panel.get("targets", []):
                found.append((path.name, panel["title"], target["expr"]))
        for variable in board["templating"]["list"]:
            if variable["type"] == "query":
                series = re.fullmatch(r"label_values\((.*), (\w+)\)", variable["query"]).group(1)
                found.append((path.name, f"variable {variable['name']}", series))
    return found


def substitute(expr: str) -> str:
    for variable, value in VARIABLES.items():
        expr = expr.replace(variable, value)
    return expr


def has_data(obs, expr: str, start: float, end: float) -> bool:
    """Some series with some number (not NaN) in the run."""
    result = report.range_query(obs, expr, start, end, 2)
    return any(not math.isnan(float(v)) for s in result for _, v in s["values"])


def test_every_process_is_scraped_with_the_metrics_token(observed):
    obs, _ = observed
    health = local.target_health(obs)
    assert health == {"ws-1": "up", "ws-2": "up", "api-1": "up", "api-2": "up", "worker": "up"}
    pods = {s["pod"] for s in local.api(obs, "/api/v1/series", **{"match[]": "chat_build_info"})}
    assert pods == {"ws-1", "ws-2", "api-1", "api-2", "worker"}


def test_every_dashboard_panel_query_returns_data(observed):
    obs, run = observed
    # The load really ran. Loss under these faults (a Redis master killed mid-run) is judged by
    # the drills (tests/cluster, drill c), not here: this test is about the panels having data.
    assert run["figures"]["confirmed"] > 0, run["figures"]
    assert run["push_requests"] > 0 and run["slow"]["sent"] > 0
    queries = panel_queries()
    assert len(queries) >= 80  # 6 dashboards: every panel target and template variable
    empty = [(board, title, expr) for board, title, expr in queries
             if not has_data(obs, substitute(expr), run["start"], run["end"])]
    assert empty == [], "\n".join(f"{b} / {t}: {e}" for b, t, e in empty)


def test_the_report_renders_from_prometheus(observed, tmp_path):
    obs, run = observed
    out = report.write(obs, obs.report_file)
    shutil.copy(out, tmp_path / out.name)  # the run directory goes with the cluster; pytest keeps this
    page = out.read_text()
    _, counts = report.render(obs)
    assert out.parent == obs.topology.report_dir
    assert page.count('src="data:image/png;base64,') == len(report.plots(obs.namespace, "1m"))
    assert all(counts.values()), counts  # every plot drew at least one series of the run


def test_killing_a_ws_process_makes_the_close_storm_alert_pending(observed):
    obs, run = observed
    topology = obs.topology
    on_ws1 = int(float(local.api(obs, "/api/v1/query", query='chat_ws_connections{pod="ws-1"}')["result"][0]
                       ["value"][1]))
    assert on_ws1 >= 60, f"ws-1 holds {on_ws1} sockets: too few for the alert's floor of 50 closes"
    drills.kill(topology, "ws-1", signal.SIGKILL)

    def storm() -> list[dict]:
        alerts = local.api(obs, "/api/v1/alerts")["alerts"]
        return [a for a in alerts if a["labels"]["alertname"] == "ChatWebSocketCloseStorm"]

    deadline = time.monotonic() + 45
    while time.monotonic() < deadline and not storm():
        time.sleep(0.5)
    alerts = storm()
    assert alerts, "ChatWebSocketCloseStorm never went pending"
    assert alerts[0]["state"] in ("pending", "firing") and alerts[0]["labels"]["code"] == "1006", alerts
    assert alerts[0]["labels"]["namespace"] == local.NAMESPACE
    asyncio.run(close_many(run["idle"]))
